//! `Idempotency-Key` handling for writes that create things: the first response to a key is
//! stored and replayed to repeats from the same user; a key reused for a different request is
//! refused; a failed request releases its key so the client can retry.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::idempotency::{Claim, MAX_KEY_LEN};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::future::Future;

/// Header that marks a replayed response.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Runs `work` at most once per `Idempotency-Key` of `user`; `fingerprint` identifies the
/// request (method, path, body) so a reused key with other content is refused.
pub async fn run<F, Fut>(
    state: &AppState,
    user: &str,
    headers: &HeaderMap,
    fingerprint: &[&[u8]],
    work: F,
) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<(StatusCode, Value)>>,
{
    let Some(raw) = headers.get("idempotency-key") else {
        return work()
            .await
            .map(|(s, v)| (s, axum::Json(v)).into_response());
    };
    let key = raw
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Idempotency-Key must be 1–{MAX_KEY_LEN} visible characters"
            ))
        })?;
    let mut hasher = Sha256::new();
    for part in fingerprint {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let fp = hex::encode(hasher.finalize());
    match state.store.claim_idempotency(user, key, &fp).await? {
        Claim::Fresh => match work().await {
            Ok((status, body)) => {
                let text = body.to_string();
                state
                    .store
                    .complete_idempotency(user, key, status.as_u16(), &text)
                    .await?;
                Ok((status, axum::Json(body)).into_response())
            }
            Err(e) => {
                state.store.release_idempotency(user, key).await?;
                Err(e)
            }
        },
        Claim::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            Ok((status, [(REPLAYED_HEADER, "true")], axum::Json(body)).into_response())
        }
        Claim::InProgress => Err(ApiError::Conflict(
            "a request with this Idempotency-Key is still in progress".into(),
        )),
        Claim::Mismatch => Err(ApiError::field(
            "Idempotency-Key",
            "was already used for a different request",
        )),
    }
}
