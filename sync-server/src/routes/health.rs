//! Operations endpoints: `GET`/`HEAD /health`, `GET /metrics` (see [`metrics`] for who may
//! read it).

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use iskra_protocol::{Health, HealthChecks};

async fn checks(state: &AppState) -> (bool, HealthChecks) {
    let database = state.store.ping().await.is_ok();
    let storage = state.blobs.check().await.is_ok();
    let word = |ok: bool| if ok { "ok" } else { "down" }.to_owned();
    let fal = match &state.gen.fal {
        None => "unconfigured",
        Some(client) if client.circuit_open() => "down",
        Some(_) => "ok",
    }
    .to_owned();
    (
        database && storage,
        HealthChecks {
            database: word(database),
            storage: word(storage),
            fal,
        },
    )
}

/// Health of the server and its dependencies.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let (ok, checks) = checks(&state).await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: if ok { "ok" } else { "degraded" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        checks,
    };
    (status, Json(body)).into_response()
}

/// Health as a status code only.
#[utoipa::path(head, path = "/health", tag = "operations",
    responses((status = 200, description = "healthy"), (status = 503, description = "unhealthy")))]
pub async fn health_head(State(state): State<AppState>) -> StatusCode {
    if checks(&state).await.0 {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// Prometheus metrics in the text exposition format. On the API listener only with
/// `Authorization: Bearer <metrics_token>`; the metrics listener (`metrics_listen`) serves
/// them without credentials.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("bearer" = [])),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 401, body = iskra_protocol::ErrorBody, description = "no or a wrong metrics token")))]
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let allowed = match (&state.config.metrics_token, given) {
        (Some(token), Some(given)) if !token.is_empty() => same_secret(token, given),
        _ => false,
    };
    if !allowed {
        return crate::error::ApiError::Unauthenticated(
            "metrics are served on the metrics listener, or here with the metrics token".into(),
        )
        .into_response();
    }
    render_metrics(&state)
}

/// The metrics as the exposition text (both listeners).
pub fn render_metrics(state: &AppState) -> Response {
    metrics::gauge!("iskra_event_channels").set(state.events.channels() as f64);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        crate::metrics::handle().render(),
    )
        .into_response()
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}
