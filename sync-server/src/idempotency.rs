//! `Idempotency-Key` handling for writes that create things: the first response to a key is
//! stored and replayed to repeats from the same user; a key reused for a different request is
//! refused; a failed request releases its key so the client can retry, and a key whose request
//! died with its process is taken over after twice the request timeout.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::idempotency::{Claim, MAX_KEY_LEN};
use crate::store::now_ms;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::time::Duration;

/// Header that marks a replayed response.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// How long a request waits for another request with the same key to finish.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(10);
/// Pause between looks at a key another request holds.
const WAIT_STEP: Duration = Duration::from_millis(20);

/// The form of an `Idempotency-Key` (as stated in `/openapi.json`): 1–255 visible ASCII
/// characters, spaces allowed inside.
pub const KEY_PATTERN: &str = "^[!-~]([ -~]{0,253}[!-~])?$";

/// Whether `key` has the form of [`KEY_PATTERN`].
fn valid_key(key: &str) -> bool {
    let visible = |b: &u8| (b'!'..=b'~').contains(b);
    let bytes = key.as_bytes();
    (1..=MAX_KEY_LEN).contains(&bytes.len())
        && bytes.iter().all(|b| *b == b' ' || visible(b))
        && bytes.first().is_some_and(visible)
        && bytes.last().is_some_and(visible)
}

/// What a request's `Idempotency-Key` allows.
pub enum KeyClaim {
    /// No key was sent: do the work.
    NoKey,
    /// The key is new and now held by this request: do the work, then [`complete`] or
    /// [`release`] it.
    Fresh(String),
    /// The first request with this key finished: answer with its result.
    Done { status: StatusCode, body: Value },
}

/// Claims the request's `Idempotency-Key` for `user`; `fingerprint` identifies the request
/// (method, path, body), so a key reused for other content is a 409 `CONFLICT`. A key another
/// request holds is waited for (parallel retries get the first result, not an error).
pub async fn claim(
    state: &AppState,
    user: &str,
    headers: &HeaderMap,
    fingerprint: &[&[u8]],
) -> ApiResult<KeyClaim> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(KeyClaim::NoKey);
    };
    let key = raw.to_str().ok().filter(|k| valid_key(k)).ok_or_else(|| {
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
    let deadline = tokio::time::Instant::now() + WAIT_FOR_FIRST;
    loop {
        // A claim older than a request may run belongs to a request that is gone.
        let stale_before = now_ms() - 2 * 1_000 * state.config.request_timeout_secs as i64;
        match state
            .store
            .claim_idempotency(user, key, &fp, stale_before)
            .await?
        {
            Claim::Fresh => return Ok(KeyClaim::Fresh(key.to_owned())),
            Claim::Replay { status, body } => {
                return Ok(KeyClaim::Done {
                    status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                    body: serde_json::from_str(&body).unwrap_or(Value::Null),
                })
            }
            Claim::Mismatch => {
                return Err(ApiError::Conflict(
                    "this Idempotency-Key was already used for a different request".into(),
                ))
            }
            Claim::InProgress if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(WAIT_STEP).await;
            }
            Claim::InProgress => {
                return Err(ApiError::Conflict(
                    "a request with this Idempotency-Key is still in progress".into(),
                ))
            }
        }
    }
}

/// Stores the result of a request that holds `key`.
pub async fn complete(
    state: &AppState,
    user: &str,
    key: &str,
    status: StatusCode,
    body: &Value,
) -> ApiResult<()> {
    Ok(state
        .store
        .complete_idempotency(user, key, status.as_u16(), &body.to_string())
        .await?)
}

/// Gives a key back after its request failed, so the client may retry with it.
pub async fn release(state: &AppState, user: &str, key: &str) -> ApiResult<()> {
    Ok(state.store.release_idempotency(user, key).await?)
}

/// Runs `work` at most once per `Idempotency-Key` of `user` (see [`claim`]) and replays its
/// first result to repeats.
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
    match claim(state, user, headers, fingerprint).await? {
        KeyClaim::NoKey => work()
            .await
            .map(|(s, v)| (s, axum::Json(v)).into_response()),
        KeyClaim::Fresh(key) => match work().await {
            Ok((status, body)) => {
                complete(state, user, &key, status, &body).await?;
                Ok((status, axum::Json(body)).into_response())
            }
            Err(e) => {
                release(state, user, &key).await?;
                Err(e)
            }
        },
        KeyClaim::Done { status, body } => {
            Ok((status, [(REPLAYED_HEADER, "true")], axum::Json(body)).into_response())
        }
    }
}
