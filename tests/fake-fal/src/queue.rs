//! fal's queue API: submit (`POST /{model}`), status, result and cancel, under the URLs the
//! submit answer gives (`/q/{owner}/{app}/requests/{id}…`) and, counted apart, under the URLs a
//! client would rebuild from the model id.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::config::Progress;
use crate::job::{Job, Outcome, Phase};
use crate::state::{lock, Shared, Submission};
use crate::webhook::spawn_delivery;

type S = State<Arc<Shared>>;

pub(crate) fn detail(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({ "detail": msg }))).into_response()
}

/// The 401 answer unless the request carries `Authorization: Key <key>`.
pub(crate) fn auth_error(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let msg = match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        None => "Authentication is required to access this application.",
        Some(v) => match v.strip_prefix("Key ") {
            Some(k) if k == shared.key => return None,
            Some(_) => "No user found for Key ID and Secret",
            None => "Invalid Key Authorization header format",
        },
    };
    Some(detail(StatusCode::UNAUTHORIZED, msg))
}

/// `POST /{model…}?fal_webhook=…`.
pub(crate) async fn submit(
    State(s): S,
    Path(model): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = auth_error(&s, &headers) {
        return r;
    }
    let rejection = lock(&s.controls.reject_submits).clone();
    if let Some((status, detail)) = rejection {
        s.bump(&s.counters.rejected_submits);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
        return (status, Json(json!({ "detail": detail }))).into_response();
    }
    let input: Arc<Value> = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => Arc::new(v),
        _ => {
            s.bump(&s.counters.rejected_submits);
            let d = json!({"detail": [{"loc": ["body"], "msg": "Input should be a valid JSON object", "type": "value_error"}]});
            return (StatusCode::UNPROCESSABLE_ENTITY, Json(d)).into_response();
        }
    };
    let model = model.trim_matches('/').to_string();
    let id = uuid::Uuid::new_v4().to_string();
    let webhook = q.get("fal_webhook").cloned();
    let progress = lock(&s.controls.progress).clone();
    let mut job = Job::new(
        id.clone(),
        model.clone(),
        input.clone(),
        webhook.clone(),
        progress.clone(),
    );
    let pending = if job.completes_on_submit() {
        job.complete(&s)
    } else {
        None
    };
    let response_url = job.response_url(&s.base);
    if let Some(prompt) = input.get("prompt").and_then(Value::as_str) {
        *s.counters.per_prompt.entry(prompt.to_string()).or_insert(0) += 1;
    }
    s.jobs.insert(id.clone(), job);
    lock(&s.counters.submissions).push(Submission {
        request_id: id.clone(),
        model,
        input,
        webhook_url: webhook,
    });
    if let Some(p) = pending {
        spawn_delivery(&s, p);
    }
    if let Progress::Delay(d) = progress {
        let (s, id) = (s.clone(), id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            let pending = s.jobs.get_mut(&id).and_then(|mut j| j.complete(&s));
            if let Some(p) = pending {
                spawn_delivery(&s, p);
            }
            s.touch();
        });
    }
    s.touch();
    let body = json!({
        "request_id": id,
        "gateway_request_id": id,
        "response_url": response_url,
        "status_url": format!("{response_url}/status"),
        "cancel_url": format!("{response_url}/cancel"),
        "queue_position": 0,
    });
    ([("x-fal-request-id", id)], Json(body)).into_response()
}

/// What a request URL names.
enum Action {
    Status,
    Result,
    Cancel,
}

/// Splits `{prefix}/requests/{id}[/status|/cancel]`.
fn parse(path: &str) -> Option<(String, String, Action)> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let at = segs.iter().rposition(|s| *s == "requests")?;
    let prefix = segs[..at].join("/");
    match &segs[at + 1..] {
        [id] => Some((prefix, id.to_string(), Action::Result)),
        [id, "status"] => Some((prefix, id.to_string(), Action::Status)),
        [id, "cancel"] => Some((prefix, id.to_string(), Action::Cancel)),
        _ => None,
    }
}

/// Requests under the URLs the submit answer gave.
pub(crate) async fn given_url(
    State(s): S,
    method: axum::http::Method,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    dispatch(s, method, &path, q, headers, false).await
}

/// Requests under URLs rebuilt from the model id (fal's documented pattern, which a client must
/// not need): counted, and refused when `strict_urls` is on.
pub(crate) async fn naive_url(
    State(s): S,
    method: axum::http::Method,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    dispatch(s, method, &path, q, headers, true).await
}

async fn dispatch(
    s: Arc<Shared>,
    method: axum::http::Method,
    path: &str,
    q: HashMap<String, String>,
    headers: HeaderMap,
    naive: bool,
) -> Response {
    let Some((prefix, id, action)) = parse(path) else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    if naive {
        s.bump(&s.counters.naive_url_requests);
        if s.controls.strict_urls.load(Ordering::Relaxed) {
            return detail(StatusCode::NOT_FOUND, "Not Found");
        }
    }
    if let Some(r) = auth_error(&s, &headers) {
        return r;
    }
    let app_matches = s.jobs.get(&id).map(|j| naive || j.app == prefix);
    if app_matches != Some(true) {
        if matches!(action, Action::Cancel) {
            lock(&s.counters.cancels).push(id);
            s.touch();
            return (StatusCode::NOT_FOUND, Json(json!({"status": "NOT_FOUND"}))).into_response();
        }
        return detail(StatusCode::NOT_FOUND, "Request not found");
    }
    match (action, method.as_str()) {
        (Action::Status, "GET") => status(&s, &id, q.contains_key("logs")),
        (Action::Result, "GET") => result(&s, &id),
        (Action::Cancel, "PUT") => cancel(&s, &id),
        _ => detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
    }
}

fn status(s: &Arc<Shared>, id: &str, logs: bool) -> Response {
    s.counters.status_polls.fetch_add(1, Ordering::Relaxed);
    let response_url = match s.jobs.get(id) {
        Some(j) => j.response_url(&s.base),
        None => return detail(StatusCode::NOT_FOUND, "Request not found"),
    };
    if s.controls
        .unknown_status_once
        .swap(false, Ordering::Relaxed)
    {
        s.touch();
        let body =
            json!({"status": "WEIRD_NEW_STATE", "request_id": id, "response_url": response_url});
        return (StatusCode::OK, Json(body)).into_response();
    }
    let (phase, pending) = match s.jobs.get_mut(id) {
        Some(mut j) => j.poll(s),
        None => return detail(StatusCode::NOT_FOUND, "Request not found"),
    };
    if let Some(p) = pending {
        spawn_delivery(s, p);
    }
    s.touch();
    let mut body = json!({"request_id": id, "response_url": response_url});
    if logs {
        body["logs"] = json!([]);
    }
    let code = match phase {
        Phase::InQueue { position } => {
            body["status"] = json!("IN_QUEUE");
            body["queue_position"] = json!(position);
            StatusCode::ACCEPTED
        }
        Phase::InProgress => {
            body["status"] = json!("IN_PROGRESS");
            StatusCode::ACCEPTED
        }
        Phase::Completed => {
            body["status"] = json!("COMPLETED");
            body["metrics"] = json!({"inference_time": 0.25});
            StatusCode::OK
        }
    };
    (code, Json(body)).into_response()
}

fn result(s: &Shared, id: &str) -> Response {
    s.bump(&s.counters.result_fetches);
    let outcome = match s.jobs.get(id) {
        Some(j) => j.outcome.clone(),
        None => return detail(StatusCode::NOT_FOUND, "Request not found"),
    };
    match outcome {
        None => detail(StatusCode::BAD_REQUEST, "Request is still in progress"),
        Some(Outcome::Ok(v)) => (StatusCode::OK, Json(v)).into_response(),
        Some(Outcome::Failed { status, body }) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (code, Json(body)).into_response()
        }
        Some(Outcome::Cancelled) => detail(StatusCode::BAD_REQUEST, "Request was cancelled"),
    }
}

fn cancel(s: &Shared, id: &str) -> Response {
    lock(&s.counters.cancels).push(id.to_string());
    let cancelled = s.jobs.get_mut(id).map(|mut j| j.cancel());
    s.touch();
    match cancelled {
        Some(true) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "CANCELLATION_REQUESTED"})),
        )
            .into_response(),
        Some(false) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"status": "ALREADY_COMPLETED"})),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"status": "NOT_FOUND"}))).into_response(),
    }
}
