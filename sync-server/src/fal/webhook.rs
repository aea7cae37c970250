//! fal's webhook: checking that a call really comes from fal, and reading what it says.
//!
//! fal signs each webhook with Ed25519 over `request_id \n user_id \n timestamp \n
//! hex(sha256(body))`, sending those in `X-Fal-Webhook-*` headers, and publishes its public keys
//! as a JWKS. [`WebhookVerifier`] checks the headers against the raw body (before any parsing,
//! so a body changed in transit fails), refuses timestamps more than five minutes from now (a
//! replayed old webhook), and verifies the signature with `verify_strict` against the cached
//! keys (see the `jwks` module for when they are refetched). [`FalWebhook`] is the body: which
//! request, and either the result, a failure message, or nothing (the caller then fetches the
//! result itself).

use super::error::{failure_message, truncate};
use super::jwks::{KeyCache, RefreshError, REFETCH_INTERVAL};
use axum::http::HeaderMap;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// The most a webhook's timestamp may differ from now, either way, in seconds.
pub const MAX_SKEW_SECS: u64 = 300;

const REQUEST_ID: (&str, &str) = ("x-fal-webhook-request-id", "X-Fal-Webhook-Request-Id");
const USER_ID: (&str, &str) = ("x-fal-webhook-user-id", "X-Fal-Webhook-User-Id");
const TIMESTAMP: (&str, &str) = ("x-fal-webhook-timestamp", "X-Fal-Webhook-Timestamp");
const SIGNATURE: (&str, &str) = ("x-fal-webhook-signature", "X-Fal-Webhook-Signature");

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A signature header is missing (or not text); the header's name.
    #[error("the webhook header {0} is missing or unreadable")]
    Missing(&'static str),
    /// No key of fal's verifies the signature (or it is not a signature).
    #[error("the webhook signature does not verify")]
    BadSignature,
    /// The timestamp is more than five minutes from now (or not a number).
    #[error("the webhook timestamp is too far from now")]
    Stale,
    /// The body is not fal's webhook shape.
    #[error("the webhook body is not fal's shape: {0}")]
    Shape(String),
    /// fal's keys could not be fetched.
    #[error("fal's webhook keys cannot be had: {0}")]
    Jwks(String),
}

/// fal webhook body (fal docs "Webhooks"):
/// `{"request_id","gateway_request_id","status":"OK"|"ERROR","payload":{…}|null,"error"?,"payload_error"?}`.
#[derive(Debug, Clone, Deserialize)]
pub struct FalWebhook {
    pub request_id: String,
    #[serde(default)]
    pub gateway_request_id: Option<String>,
    pub status: String,
    #[serde(default)]
    pub payload: Option<Value>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub payload_error: Option<String>,
}

impl FalWebhook {
    /// Reads a webhook body; anything not of fal's shape is [`WebhookError::Shape`].
    pub fn parse(body: &[u8]) -> Result<Self, WebhookError> {
        let hook: FalWebhook = serde_json::from_slice(body)
            .map_err(|e| WebhookError::Shape(truncate(&e.to_string())))?;
        if hook.request_id.trim().is_empty() {
            return Err(WebhookError::Shape("empty request_id".into()));
        }
        Ok(hook)
    }

    /// What the webhook says: `Ok(Some(result))` a success with its payload; `Err(message)` a
    /// failed run (fal's `error` and the payload's `detail`); `Ok(None)` the payload is missing
    /// or could not be delivered (`payload_error`), or the status is not documented → the caller
    /// fetches the result instead.
    pub fn outcome(&self) -> Result<Option<Value>, String> {
        if self.status.eq_ignore_ascii_case("OK") {
            if let Some(e) = &self.payload_error {
                tracing::debug!(request_id = %self.request_id, error = %truncate(e), "fal webhook without payload");
                return Ok(None);
            }
            return Ok(self.payload.clone().filter(|p| !p.is_null()));
        }
        if self.status.eq_ignore_ascii_case("ERROR") {
            let error = self
                .error
                .as_deref()
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(truncate);
            let detail = self.payload.as_ref().and_then(failure_message);
            return Err(match (error, detail) {
                (Some(e), Some(d)) if d.contains(&e) => d,
                (Some(e), Some(d)) => format!("{e}: {d}"),
                (Some(e), None) => e,
                (None, Some(d)) => d,
                (None, None) => "fal reported an error".into(),
            });
        }
        tracing::warn!(
            request_id = %self.request_id,
            status = %truncate(&self.status),
            "fal webhook with an undocumented status; the result will be fetched"
        );
        Ok(None)
    }
}

/// The bytes fal signs: `request_id \n user_id \n timestamp \n hex(sha256(body))`.
pub fn webhook_message(request_id: &str, user_id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let digest = hex::encode(Sha256::digest(body));
    format!("{request_id}\n{user_id}\n{timestamp}\n{digest}").into_bytes()
}

/// Checks webhook signatures against fal's published keys; cheap to clone (shared cache).
#[derive(Clone)]
pub struct WebhookVerifier {
    keys: Arc<KeyCache>,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifier").finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    /// A verifier for the keys at `jwks_url`, fetched through `http` when first needed.
    pub fn new(jwks_url: String, http: reqwest::Client) -> Self {
        Self::with_refetch_interval(jwks_url, http, REFETCH_INTERVAL)
    }

    /// As [`WebhookVerifier::new`], refetching on an unknown signature at most once per
    /// `interval` (a minute in [`WebhookVerifier::new`]).
    pub fn with_refetch_interval(
        jwks_url: String,
        http: reqwest::Client,
        interval: Duration,
    ) -> Self {
        WebhookVerifier {
            keys: Arc::new(KeyCache::new(jwks_url, http, interval)),
        }
    }

    /// Verifies headers `X-Fal-Webhook-Request-Id`, `-User-Id`, `-Timestamp` (unix seconds),
    /// `-Signature` (hex) over the RAW body; `now_unix` is the current unix time. Returns the
    /// request id from the header.
    ///
    /// The signature must verify (`verify_strict`) with a key of the JWKS; timestamps more than
    /// 300 s from `now_unix` are refused. The keys are cached, and refetched when no cached key
    /// verifies, at most once a minute (always when none is cached).
    pub async fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<String, WebhookError> {
        let request_id = header(headers, REQUEST_ID)?;
        let user_id = header(headers, USER_ID)?;
        let timestamp = header(headers, TIMESTAMP)?;
        let signature = header(headers, SIGNATURE)?;

        let sent: i64 = timestamp.trim().parse().map_err(|_| WebhookError::Stale)?;
        if now_unix.abs_diff(sent) > MAX_SKEW_SECS {
            return Err(WebhookError::Stale);
        }
        let signature = hex::decode(signature.trim()).map_err(|_| WebhookError::BadSignature)?;
        let signature =
            Signature::from_slice(&signature).map_err(|_| WebhookError::BadSignature)?;
        let message = webhook_message(request_id, user_id, timestamp, body);

        let seen = self.keys.snapshot();
        if verifies(&seen.keys, &message, &signature) {
            return Ok(request_id.to_owned());
        }
        if !self.keys.may_refetch(&seen) {
            return Err(WebhookError::BadSignature);
        }
        let keys = match self.keys.refresh(&seen).await {
            Ok(keys) => keys,
            Err(RefreshError::TooSoon) => return Err(WebhookError::BadSignature),
            Err(RefreshError::Failed(e)) => return Err(WebhookError::Jwks(e)),
        };
        if verifies(&keys, &message, &signature) {
            Ok(request_id.to_owned())
        } else {
            Err(WebhookError::BadSignature)
        }
    }

    /// Makes the last JWKS fetch look `by` older (tests of the refetch interval).
    #[cfg(test)]
    pub(crate) fn backdate_fetch(&self, by: Duration) {
        self.keys.backdate(by);
    }
}

fn verifies(keys: &[VerifyingKey], message: &[u8], signature: &Signature) -> bool {
    keys.iter()
        .any(|key| key.verify_strict(message, signature).is_ok())
}

/// A header's text, or [`WebhookError::Missing`] with its name.
fn header<'h>(
    headers: &'h HeaderMap,
    (lookup, name): (&'static str, &'static str),
) -> Result<&'h str, WebhookError> {
    headers
        .get(lookup)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .ok_or(WebhookError::Missing(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> FalWebhook {
        FalWebhook::parse(v.to_string().as_bytes()).expect("fal's shape")
    }

    #[test]
    fn success_with_payload() {
        let hook = parse(json!({
            "request_id": "r1", "gateway_request_id": "g1", "status": "OK",
            "payload": {"images": [{"url": "https://v3.fal.media/a.png"}], "seed": 1}
        }));
        assert_eq!(hook.gateway_request_id.as_deref(), Some("g1"));
        let result = hook.outcome().expect("success").expect("payload");
        assert_eq!(result["seed"], 1);
    }

    #[test]
    fn success_without_payload_means_fetch() {
        let hook = parse(json!({
            "request_id": "r1", "status": "OK", "payload": null,
            "payload_error": "Response payload too large"
        }));
        assert_eq!(hook.outcome(), Ok(None));
        let hook = parse(json!({"request_id": "r1", "status": "OK"}));
        assert_eq!(hook.outcome(), Ok(None));
        let hook = parse(json!({
            "request_id": "r1", "status": "OK", "payload": {"images": []},
            "payload_error": "could not serialise"
        }));
        assert_eq!(hook.outcome(), Ok(None));
    }

    #[test]
    fn error_carries_fal_message_and_detail() {
        let hook = parse(json!({
            "request_id": "r1", "status": "ERROR", "error": "Invalid status code: 422",
            "payload": {"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "missing"}]}
        }));
        assert_eq!(
            hook.outcome(),
            Err("Invalid status code: 422: prompt: field required".into())
        );
        let hook = parse(json!({"request_id": "r1", "status": "ERROR"}));
        assert_eq!(hook.outcome(), Err("fal reported an error".into()));
    }

    #[test]
    fn undocumented_status_means_fetch() {
        let hook = parse(json!({"request_id": "r1", "status": "MAYBE", "payload": {"a": 1}}));
        assert_eq!(hook.outcome(), Ok(None));
    }

    #[test]
    fn not_fal_shape() {
        for body in [
            &b"not json"[..],
            br#"{"status": "OK"}"#,
            br#"{"request_id": "", "status": "OK"}"#,
            br#"{"request_id": 5, "status": "OK"}"#,
            br#"[1]"#,
        ] {
            assert!(matches!(
                FalWebhook::parse(body),
                Err(WebhookError::Shape(_))
            ));
        }
    }

    #[test]
    fn message_layout() {
        let m = webhook_message("r", "u", "17", b"{}");
        let expected = format!("r\nu\n17\n{}", hex::encode(Sha256::digest(b"{}")));
        assert_eq!(m, expected.into_bytes());
    }
}
