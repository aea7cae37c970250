//! Incoming webhooks (S11): `POST /v1/webhooks/fal`. The signature is checked over the raw
//! body before anything is parsed; a verified delivery is recorded by fal's `request_id`
//! (repeats and deliveries for unknown or finished requests change nothing and answer 200),
//! and the job it finishes is made due so a worker takes it at once.

use crate::error::{ApiError, ApiResult};
use crate::fal::{FalWebhook, WebhookError};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use iskra_protocol::ErrorBody;

/// fal's completion webhook.
#[utoipa::path(post, path = "/v1/webhooks/fal", tag = "webhooks",
    request_body(content = Object, content_type = "application/json"),
    params(
        ("X-Fal-Webhook-Request-Id" = String, Header), ("X-Fal-Webhook-User-Id" = String, Header),
        ("X-Fal-Webhook-Timestamp" = String, Header), ("X-Fal-Webhook-Signature" = String, Header)),
    responses((status = 200, description = "accepted, already processed, or about nothing known"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn fal(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let body = raw_body(&state, body).await?;
    let now = chrono::Utc::now().timestamp();
    let signed_id = state
        .gen
        .verifier
        .verify(&headers, &body, now)
        .await
        .map_err(|e| match e {
            WebhookError::Shape(m) => ApiError::BadRequest(m),
            other => {
                tracing::info!(reason = %other, "fal webhook refused");
                ApiError::Unauthenticated("missing or invalid webhook signature".into())
            }
        })?;
    let hook = FalWebhook::parse(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if hook.request_id != signed_id {
        return Err(ApiError::BadRequest(
            "the body's request_id is not the signed one".into(),
        ));
    }
    let text = String::from_utf8_lossy(&body);
    let new = state
        .store
        .record_fal_webhook(&hook.request_id, &text)
        .await?;
    metrics::counter!("iskra_fal_webhooks_total", "new" => new.to_string()).increment(1);
    if new {
        state.gen.wake();
    }
    Ok(StatusCode::OK)
}

/// The raw body of a webhook (any provider), within the JSON body limit (signatures cover the exact bytes).
pub async fn raw_body(state: &AppState, body: Body) -> ApiResult<Bytes> {
    let limit = state.config.max_json_bytes;
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit: limit as u64,
        })
}
