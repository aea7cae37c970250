//! `POST /v1/webhooks/clerk` (S2, S11): Clerk's user events, delivered by Svix. The signature
//! (`svix-id`, `svix-timestamp`, `svix-signature`) is checked over the raw body with
//! `ISKRA_CLERK_WEBHOOK_SECRET` before anything is parsed; without a secret every delivery is
//! refused. A verified delivery is applied once per `svix-id` (see `accounts`).

use crate::accounts::{self, clerk::ClerkEvent};
use crate::error::{ApiError, ApiResult};
use crate::routes::webhooks::raw_body;
use crate::state::AppState;
use crate::webhook_sig::{verify_svix, SvixHeaders};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use iskra_protocol::ErrorBody;

fn refused() -> ApiError {
    ApiError::Unauthenticated("missing or invalid webhook signature".into())
}

/// Clerk's webhook: `user.created` / `user.updated` keep the user's email and name in step,
/// `user.deleted` deletes the user and everything they own; other types are acknowledged.
#[utoipa::path(post, path = "/v1/webhooks/clerk", tag = "webhooks",
    request_body(content = Object, content_type = "application/json",
        description = "a Clerk event: {\"type\", \"data\", \"timestamp\", …}"),
    params(("svix-id" = String, Header), ("svix-timestamp" = String, Header),
        ("svix-signature" = String, Header)),
    responses((status = 200, description = "applied, already applied, or of a type Iskra ignores"),
        (status = 400, body = ErrorBody, description = "not a Clerk event"),
        (status = 401, body = ErrorBody, description = "missing, invalid or stale signature; no secret configured"),
        (status = 413, body = ErrorBody)))]
pub async fn clerk(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let body = raw_body(&state, body).await?;
    let Some(secret) = state.config.clerk_webhook_secret.as_deref() else {
        tracing::info!("Clerk webhook refused: ISKRA_CLERK_WEBHOOK_SECRET is not set");
        return Err(refused());
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = SvixHeaders {
        id: header("svix-id"),
        timestamp: header("svix-timestamp"),
        signature: header("svix-signature"),
    };
    let now = chrono::Utc::now();
    let svix_id = verify_svix(signed, &body, secret, now.timestamp()).map_err(|e| {
        tracing::info!(reason = %e, "Clerk webhook refused");
        refused()
    })?;
    let event = ClerkEvent::parse(&body, now.timestamp_millis())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    accounts::apply(&state, svix_id, &event).await?;
    Ok(StatusCode::OK)
}
