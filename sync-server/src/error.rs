//! `ApiError`: every way a request can fail, mapped to status + docs/api.md error body in one place.
//!
//! Handlers return `Result<_, ApiError>` and use `?`; an internal failure keeps its cause (a
//! context and the whole source chain), which is logged with the request's span (it carries the
//! request id) when the response is built, and answered with a bare `INTERNAL`.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use iskra_protocol::{ErrorBody, ErrorCode, ErrorDetail, StorageQuota};
use serde_json::{Map, Value};

/// Details of a refused rate-limited request (headers and body of the 429).
#[derive(Debug, Clone)]
pub struct RateLimitInfo {
    pub code: ErrorCode,
    pub window: &'static str,
    pub limit: i64,
    pub used: i64,
    pub resets_at: chrono::DateTime<chrono::Utc>,
    /// Whole seconds from the decision to `resets_at` (the `RateLimit-Reset` header).
    pub reset_secs: i64,
    pub retry_after_secs: u64,
    pub tier: Option<&'static str>,
    pub upgrade_url: String,
}

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Validation {
        message: String,
        fields: Map<String, Value>,
    },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    InvalidMedia(String),
    #[error("storage quota exceeded")]
    StorageQuota(Box<StorageQuota>),
    #[error("rate limited")]
    RateLimited(Box<RateLimitInfo>),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("not enough credits: {required} required, {available} available")]
    InsufficientCredits { required: i64, available: i64 },
    #[error("billing unavailable: {0}")]
    BillingUnavailable(String),
    /// A failure of the server itself; the cause is logged, never returned.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl ApiError {
    /// A 422 naming one invalid field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut fields = Map::new();
        fields.insert(field.to_owned(), Value::String(message.clone()));
        Self::Validation {
            message: format!("{field}: {message}"),
            fields,
        }
    }

    /// An internal error caused by `e` (its source chain is kept for the log).
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }

    /// An internal error caused by `e`, under `context` (what the server was doing).
    pub fn internal_in(
        context: &'static str,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal(anyhow::Error::new(e).context(context))
    }

    /// An internal error with no underlying cause (an invariant the server could not keep).
    pub fn internal_msg(message: &'static str) -> Self {
        Self::Internal(anyhow::Error::msg(message))
    }

    /// The wire error (code, message, details) of this error.
    pub fn detail(&self) -> ErrorDetail {
        use ApiError::*;
        match self {
            BadRequest(m) => ErrorDetail::new(ErrorCode::BadRequest, m),
            Validation { message, fields } => {
                ErrorDetail::new(ErrorCode::ValidationFailed, message)
                    .with("fields", Value::Object(fields.clone()))
            }
            Unauthenticated(m) => ErrorDetail::new(ErrorCode::Unauthenticated, m),
            Forbidden(m) => ErrorDetail::new(ErrorCode::Forbidden, m),
            NotFound(_) => ErrorDetail::new(ErrorCode::NotFound, self.to_string()),
            Conflict(m) => ErrorDetail::new(ErrorCode::Conflict, m),
            PayloadTooLarge { limit } => {
                ErrorDetail::new(ErrorCode::PayloadTooLarge, self.to_string())
                    .with("limitBytes", *limit)
            }
            UnsupportedMediaType(m) => ErrorDetail::new(ErrorCode::UnsupportedMediaType, m),
            InvalidMedia(m) => ErrorDetail::new(ErrorCode::InvalidMedia, m),
            StorageQuota(q) => ErrorDetail::new(
                ErrorCode::StorageQuotaExceeded,
                "storage limit reached: delete assets or upgrade to upload more",
            )
            .with("storage", serde_json::to_value(q).unwrap_or(Value::Null)),
            RateLimited(info) => ErrorDetail::new(
                info.code,
                format!(
                    "{} limit of {} reached; retry after {} s",
                    info.window, info.limit, info.retry_after_secs
                ),
            )
            .with("window", info.window)
            .with("limit", info.limit)
            .with("used", info.used)
            .with("remaining", 0)
            .with(
                "resetsAt",
                info.resets_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
            .with("tier", info.tier.map_or(Value::Null, Value::from))
            .with("upgradeUrl", info.upgrade_url.clone()),
            Unavailable(m) => ErrorDetail::new(ErrorCode::GenerationUnavailable, m),
            InsufficientCredits {
                required,
                available,
            } => ErrorDetail::new(
                ErrorCode::InsufficientCredits,
                format!(
                    "this costs {required} credits and {available} are available; \
                     upgrade or wait for the next allocation"
                ),
            )
            .with("required", *required)
            .with("available", *available),
            BillingUnavailable(m) => ErrorDetail::new(ErrorCode::BillingUnavailable, m),
            Internal(_) => ErrorDetail::new(
                ErrorCode::Internal,
                "internal error; see the server log for this request id",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            // `{:#}`: every cause of the chain, outermost first, on one line.
            tracing::error!(error = %format_args!("{cause:#}"), "internal error");
        }
        let detail = self.detail();
        let status =
            StatusCode::from_u16(detail.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut headers = HeaderMap::new();
        if let ApiError::RateLimited(info) = &self {
            for (name, value) in [
                ("retry-after", info.retry_after_secs as i64),
                ("ratelimit-limit", info.limit),
                ("ratelimit-remaining", 0),
                ("ratelimit-reset", info.reset_secs),
            ] {
                headers.insert(name, HeaderValue::from(value));
            }
        }
        (status, headers, Json(ErrorBody { error: detail })).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::internal_in("database", e)
    }
}

impl From<crate::blobs::BlobError> for ApiError {
    fn from(e: crate::blobs::BlobError) -> Self {
        Self::internal_in("storage", e)
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
