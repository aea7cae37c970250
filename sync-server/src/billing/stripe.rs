//! Stripe's HTTP API as billing calls it: form-encoded POSTs (bracket notation for nested
//! fields) with `Authorization: Bearer <secret key>` and an `Idempotency-Key`, answered with
//! JSON. A request that did not get an answer (connection refused or cut, timeout) or got a 5xx
//! is sent again with the same key after a short jittered backoff — the key makes Stripe return
//! the first result instead of creating a second object. Any other answer is final. The key is
//! a sensitive header and is scrubbed from every error message.

use backon::{ExponentialBuilder, Retryable};
use serde::Deserialize;
use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

/// Longest wait for a connection to Stripe.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for one answer (retries included, a call stays within the request timeout).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);
/// Retries after the first attempt.
const RETRIES: usize = 2;
const RETRY_MIN_DELAY: Duration = Duration::from_millis(100);
const RETRY_MAX_DELAY: Duration = Duration::from_secs(1);

/// One HTTP client for every call to Stripe (connection reuse); built on first use.
static HTTP: LazyLock<Result<reqwest::Client, String>> = LazyLock::new(|| {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())
});

/// Why a call to Stripe failed.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// No answer: connection refused or cut, or no answer in time (after the retries).
    #[error("Stripe could not be reached: {0}")]
    Unreachable(String),
    /// Stripe answered with an error (5xx after the retries, or any 4xx).
    #[error("Stripe answered {status} ({kind}): {message}")]
    Status {
        status: u16,
        kind: String,
        message: String,
    },
    /// A 2xx whose body is not what the endpoint returns.
    #[error("Stripe's answer was not understood: {0}")]
    Protocol(String),
    /// The HTTP client could not be built or the key cannot be a header.
    #[error("the Stripe client cannot send: {0}")]
    Setup(String),
}

impl StripeError {
    /// Whether sending the same request again (with the same idempotency key) may succeed.
    fn transient(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::Status { status, .. } => *status >= 500,
            Self::Protocol(_) | Self::Setup(_) => false,
        }
    }
}

/// Stripe's error body: `{"error": {"type", "message"}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorFields,
}

#[derive(Deserialize)]
struct ErrorFields {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

/// A created object that is opened in a browser (a Checkout or portal session).
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub id: String,
    pub url: String,
}

/// Stripe's API at `base` with a secret key.
pub struct Stripe<'a> {
    base: &'a str,
    key: &'a str,
}

impl fmt::Debug for Stripe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stripe")
            .field("base", &self.base)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl<'a> Stripe<'a> {
    pub fn new(base: &'a str, key: &'a str) -> Self {
        Stripe {
            base: base.trim_end_matches('/'),
            key,
        }
    }

    /// `POST {base}{path}` with `params` form-encoded, sent (and retried) with
    /// `idempotency_key`; the created session.
    pub async fn create_session(
        &self,
        path: &str,
        params: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<Session, StripeError> {
        let http = HTTP.as_ref().map_err(|e| StripeError::Setup(e.clone()))?;
        let mut auth = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.key))
            .map_err(|_| StripeError::Setup("the secret key is not a valid header".into()))?;
        auth.set_sensitive(true);
        let url = format!("{}{path}", self.base);
        let retry = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(RETRY_MIN_DELAY)
            .with_max_delay(RETRY_MAX_DELAY)
            .with_max_times(RETRIES);
        let attempt = || async {
            let res = http
                .post(&url)
                .header(reqwest::header::AUTHORIZATION, auth.clone())
                .header("Idempotency-Key", idempotency_key)
                .form(params)
                .send()
                .await
                .map_err(|e| StripeError::Unreachable(self.scrub(&e.to_string())))?;
            let status = res.status();
            let body = res
                .bytes()
                .await
                .map_err(|e| StripeError::Unreachable(self.scrub(&e.to_string())))?;
            if !status.is_success() {
                let (kind, message) = match serde_json::from_slice::<ErrorBody>(&body) {
                    Ok(b) => (b.error.kind, b.error.message),
                    Err(_) => ("unknown".into(), String::from_utf8_lossy(&body).into()),
                };
                return Err(StripeError::Status {
                    status: status.as_u16(),
                    kind,
                    message: self.scrub(&truncate(&message, 300)),
                });
            }
            serde_json::from_slice::<Session>(&body)
                .map_err(|e| StripeError::Protocol(format!("{path}: {e}")))
        };
        attempt
            .retry(retry)
            .when(StripeError::transient)
            .notify(|e, delay| {
                tracing::info!(error = %e, ?delay, path, "Stripe call failed; retrying");
            })
            .await
    }

    /// `text` without the secret key in it.
    fn scrub(&self, text: &str) -> String {
        if self.key.is_empty() {
            return text.to_owned();
        }
        text.replace(self.key, "<redacted>")
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_carry_the_key_and_only_outages_are_retried() {
        let stripe = Stripe::new("http://127.0.0.1:1/", "sk_test_secret");
        assert_eq!(stripe.base, "http://127.0.0.1:1");
        assert_eq!(
            stripe.scrub("Invalid API Key provided: sk_test_secret"),
            "Invalid API Key provided: <redacted>"
        );
        assert!(!format!("{stripe:?}").contains("sk_test_secret"));
        let status = |status| StripeError::Status {
            status,
            kind: "api_error".into(),
            message: String::new(),
        };
        assert!(status(500).transient() && status(503).transient());
        assert!(!status(400).transient() && !status(401).transient());
        assert!(!status(429).transient());
        assert!(StripeError::Unreachable("refused".into()).transient());
        assert!(!StripeError::Protocol("no url".into()).transient());
    }
}
