//! Errors of talking to the sync server, classified so the outbox decides from the type alone:
//! [`SyncError::is_retryable`] (network, 5xx, 429 — with `Retry-After`) versus permanent
//! refusals kept as `rejected` with the server's error body. Two more cases neither retry nor
//! reject: a refused session (sync pauses until the user signs in again; ops stay pending) and
//! `STORAGE_QUOTA_EXCEEDED` (uploads pause; canvas sync goes on). A local task that panicked
//! is a bug of this client: it stops sync and is never retried as if the server had failed.
//! What an operation keeps of its last failure is the typed [`OpError`].

use crate::error::EngineError;
use crate::store::outbox::OpError;
use iskra_protocol::{ErrorCode, ErrorDetail};
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
    /// A local task of the sync client panicked (a bug) or was cancelled (shutdown).
    #[error("local task {}: {message}", if *.panicked { "panicked" } else { "cancelled" })]
    Task { panicked: bool, message: String },
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

    /// True when the whole sync must stop (no session, the session was refused, or this
    /// client failed: its store, or a task that panicked).
    pub fn stops_sync(&self) -> bool {
        matches!(
            self,
            Self::NotSignedIn | Self::Unauthenticated { .. } | Self::Local(_) | Self::Task { .. }
        )
    }

    /// True when the failure says the server could not be reached at all.
    pub fn is_offline(&self) -> bool {
        matches!(self, Self::Network(_))
    }

    /// What an outbox row keeps of this failure (its `last_error`).
    pub fn to_op_error(&self) -> OpError {
        match self {
            Self::Rejected { error, .. } if error.code == ErrorCode::StorageQuotaExceeded => {
                OpError::Quota {
                    error: error.clone(),
                }
            }
            Self::Rejected { status, error } => OpError::Rejected {
                status: *status,
                error: error.clone(),
            },
            Self::RateLimited { error, retry_after } => OpError::RateLimited {
                error: error.clone(),
                retry_after_secs: retry_after.map(|d| d.as_secs()),
            },
            Self::Unauthenticated { error } => OpError::Unauthenticated {
                error: error.clone(),
            },
            Self::Server {
                status,
                code,
                message,
            } => OpError::Server {
                status: *status,
                code: *code,
                message: message.clone(),
            },
            Self::Network(message) => OpError::Network {
                message: message.clone(),
            },
            Self::Protocol(message) => OpError::Protocol {
                message: message.clone(),
            },
            Self::NotSignedIn => OpError::NotSignedIn,
            Self::Local(e) => OpError::Local {
                message: e.to_string(),
            },
            Self::Task {
                panicked: true,
                message,
            } => OpError::Panicked {
                message: message.clone(),
            },
            Self::Task {
                panicked: false,
                message,
            } => OpError::Local {
                message: format!("task cancelled: {message}"),
            },
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

impl From<tokio::task::JoinError> for SyncError {
    fn from(e: tokio::task::JoinError) -> Self {
        let panicked = e.is_panic();
        let message = if panicked {
            let payload = e.into_panic();
            payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_owned())
        } else {
            e.to_string()
        };
        Self::Task { panicked, message }
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
        assert_eq!(
            rejected(ErrorCode::ValidationFailed).to_op_error(),
            OpError::Rejected {
                status: 422,
                error: ErrorDetail::new(ErrorCode::ValidationFailed, "no"),
            }
        );
        assert!(matches!(
            rejected(ErrorCode::StorageQuotaExceeded).to_op_error(),
            OpError::Quota { .. }
        ));
        assert_eq!(
            SyncError::synthetic_detail(404, "x").code,
            ErrorCode::NotFound
        );
    }

    #[tokio::test]
    async fn a_panicked_task_stops_sync_and_is_not_retried() {
        let join = tokio::task::spawn_blocking(|| -> () { panic!("store bug") }).await;
        let err = SyncError::from(join.unwrap_err());
        assert!(
            matches!(&err, SyncError::Task { panicked: true, message } if message == "store bug")
        );
        assert!(!err.is_retryable(), "a bug is not a transient failure");
        assert!(err.stops_sync());
        assert_eq!(
            err.to_op_error(),
            OpError::Panicked {
                message: "store bug".into()
            }
        );
    }
}
