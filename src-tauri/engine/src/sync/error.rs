//! Errors of talking to the sync server, classified so the outbox decides from the type alone:
//! [`SyncError::is_retryable`] (network, 5xx, 429 — with `Retry-After`) versus permanent
//! refusals kept as `rejected` with the server's error body. Two more cases neither retry nor
//! reject: a refused session (sync pauses until the user signs in again; ops stay pending) and
//! `STORAGE_QUOTA_EXCEEDED` (uploads pause; canvas sync goes on).

use crate::error::EngineError;
use iskra_protocol::{ErrorCode, ErrorDetail};
use serde_json::{json, Value};
use std::time::Duration;

/// A failed exchange with the sync server.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No session token: the engine works local-only.
    #[error("not signed in")]
    NotSignedIn,
    /// The server could not be reached or the connection broke.
    #[error("network error: {0}")]
    Network(String),
    /// 5xx: the server failed (or lacks something it needs, like `BILLING_UNAVAILABLE`); try
    /// again later.
    #[error("server error {status}: {message}")]
    Server {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// 429: too many requests; `retry_after` from the `Retry-After` header.
    #[error("rate limited: {}", .error.message)]
    RateLimited {
        retry_after: Option<Duration>,
        error: ErrorDetail,
    },
    /// 401: the session is not (or no longer) valid.
    #[error("session refused by the server: {}", .error.message)]
    Unauthenticated { error: ErrorDetail },
    /// Any other 4xx: the server refused this request for good.
    #[error("refused ({status} {}): {}", .error.code.as_str(), .error.message)]
    Rejected { status: u16, error: ErrorDetail },
    /// A 2xx whose body is not what docs/api.md says.
    #[error("unexpected response from the server: {0}")]
    Protocol(String),
    /// The local engine failed.
    #[error(transparent)]
    Local(#[from] EngineError),
}

impl SyncError {
    /// True when sending the same request again later may succeed (network, 5xx, 429, and a
    /// malformed 2xx, which is the server's fault, not the operation's).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Network(_) | Self::Server { .. } | Self::RateLimited { .. } | Self::Protocol(_)
        )
    }

    /// The server's `Retry-After`, when it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// True for `STORAGE_QUOTA_EXCEEDED`: pause uploads, keep the operation.
    pub fn is_quota_exceeded(&self) -> bool {
        matches!(self, Self::Rejected { error, .. } if error.code == ErrorCode::StorageQuotaExceeded)
    }

    /// True when the whole sync must stop (no session, or the session was refused).
    pub fn stops_sync(&self) -> bool {
        matches!(
            self,
            Self::NotSignedIn | Self::Unauthenticated { .. } | Self::Local(_)
        )
    }

    /// True when the failure says the server could not be reached at all.
    pub fn is_offline(&self) -> bool {
        matches!(self, Self::Network(_))
    }

    /// What is stored as an outbox row's `last_error`: the server's error body when there is
    /// one (with the HTTP status), else a description.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Rejected { status, error } => json!({"status": status, "error": error}),
            Self::RateLimited { error, retry_after } => json!({
                "status": 429, "error": error, "retryAfterSecs": retry_after.map(|d| d.as_secs())
            }),
            Self::Unauthenticated { error } => json!({"status": 401, "error": error}),
            Self::Server {
                status, message, ..
            } => json!({"status": status, "message": message}),
            other => json!({"message": other.to_string()}),
        }
    }

    /// A code-less error body for a status whose response carried none.
    pub fn synthetic_detail(status: u16, message: impl Into<String>) -> ErrorDetail {
        let code = match status {
            401 => ErrorCode::Unauthenticated,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            422 => ErrorCode::ValidationFailed,
            429 => ErrorCode::RateLimited,
            500..=599 => ErrorCode::Internal,
            _ => ErrorCode::BadRequest,
        };
        ErrorDetail::new(code, message)
    }
}

impl From<reqwest::Error> for SyncError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_decode() {
            Self::Protocol(e.to_string())
        } else {
            // Connect, timeout, body and redirect errors: the exchange did not complete.
            Self::Network(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(code: ErrorCode) -> SyncError {
        SyncError::Rejected {
            status: code.status(),
            error: ErrorDetail::new(code, "no"),
        }
    }

    #[test]
    fn classification() {
        assert!(SyncError::Network("down".into()).is_retryable());
        assert!(SyncError::Server {
            status: 503,
            code: ErrorCode::Internal,
            message: "x".into()
        }
        .is_retryable());
        let limited = SyncError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
            error: ErrorDetail::new(ErrorCode::RateLimited, "slow down"),
        };
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        assert!(!rejected(ErrorCode::ValidationFailed).is_retryable());
        assert!(rejected(ErrorCode::StorageQuotaExceeded).is_quota_exceeded());
        assert!(!rejected(ErrorCode::NotFound).is_quota_exceeded());
        let unauth = SyncError::Unauthenticated {
            error: ErrorDetail::new(ErrorCode::Unauthenticated, "expired"),
        };
        assert!(!unauth.is_retryable() && unauth.stops_sync());
        let body = rejected(ErrorCode::ValidationFailed).to_json();
        assert_eq!(body["error"]["code"], "VALIDATION_FAILED");
        assert_eq!(body["status"], 422);
        assert_eq!(
            SyncError::synthetic_detail(404, "x").code,
            ErrorCode::NotFound
        );
    }
}
