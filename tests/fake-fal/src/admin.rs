//! Control endpoints under `/_fake/` (not part of fal's API, no auth), for driving the fake
//! from another process such as the desktop E2E tests: release held jobs, read what was
//! submitted and the counters. They bypass injected failures.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::controls::{release, release_all};
use crate::state::{lock, Shared};

type S = State<Arc<Shared>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_fake/release/{id}", post(release_one))
        .route("/_fake/release-all", post(release_every))
        .route("/_fake/submissions", get(submissions))
        .route("/_fake/counters", get(counters))
}

/// `POST /_fake/release/{id}` → `{"released": bool}`.
async fn release_one(State(s): S, Path(id): Path<String>) -> Json<Value> {
    Json(json!({ "released": release(&s, &id) }))
}

/// `POST /_fake/release-all` → `{"released": n}`.
async fn release_every(State(s): S) -> Json<Value> {
    Json(json!({ "released": release_all(&s) }))
}

/// `GET /_fake/submissions` → `[{"request_id","model","input","webhook_url"}]`.
async fn submissions(State(s): S) -> Json<Value> {
    let list: Vec<Value> = lock(&s.counters.submissions)
        .iter()
        .map(|x| {
            json!({
                "request_id": x.request_id, "model": x.model,
                "input": *x.input, "webhook_url": x.webhook_url,
            })
        })
        .collect();
    Json(Value::Array(list))
}

/// `GET /_fake/counters`.
async fn counters(State(s): S) -> Json<Value> {
    let c = &s.counters;
    let delivered = lock(&c.webhooks)
        .iter()
        .filter(|w| !w.crafted && w.delivered())
        .count();
    Json(json!({
        "requests": c.requests.load(Ordering::Relaxed),
        "submits": lock(&c.submissions).len(),
        "status_polls": c.status_polls.load(Ordering::Relaxed),
        "result_fetches": c.result_fetches.load(Ordering::Relaxed),
        "cancels": lock(&c.cancels).len(),
        "uploads": lock(&c.uploads).len(),
        "webhooks_delivered": delivered,
        "pending_jobs": s.jobs.iter().filter(|j| !j.is_completed()).count(),
    }))
}
