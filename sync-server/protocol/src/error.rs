//! The error body every non-2xx response carries: `{"error":{"code","message",…details}}`.
//!
//! [`ErrorCode`] lists every code of docs/api.md with its HTTP status, so the server maps an error to
//! a status in one place and clients can classify responses without string matching.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The machine-readable error codes of docs/api.md, each with its fixed HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BadRequest,
    ValidationFailed,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidMedia,
    StorageQuotaExceeded,
    RateLimited,
    AnonymousQuotaExceeded,
    GenerationUnavailable,
    /// Not enough credits for the estimated cost (details: `required`, `available`).
    InsufficientCredits,
    /// Billing is not configured on this server (no Stripe key).
    BillingUnavailable,
    Internal,
    /// A code this version does not know (from a newer server); classify it by HTTP status.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status docs/api.md assigns to this code.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::ValidationFailed | Self::InvalidMedia => 422,
            Self::Unauthenticated => 401,
            Self::Forbidden | Self::StorageQuotaExceeded => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::RateLimited | Self::AnonymousQuotaExceeded => 429,
            Self::GenerationUnavailable | Self::BillingUnavailable => 503,
            Self::InsufficientCredits => 402,
            Self::Internal | Self::Unknown => 500,
        }
    }

    /// The code as it appears on the wire (`NOT_FOUND`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::ValidationFailed => "VALIDATION_FAILED",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::InvalidMedia => "INVALID_MEDIA",
            Self::StorageQuotaExceeded => "STORAGE_QUOTA_EXCEEDED",
            Self::RateLimited => "RATE_LIMITED",
            Self::AnonymousQuotaExceeded => "ANONYMOUS_QUOTA_EXCEEDED",
            Self::GenerationUnavailable => "GENERATION_UNAVAILABLE",
            Self::InsufficientCredits => "INSUFFICIENT_CREDITS",
            Self::BillingUnavailable => "BILLING_UNAVAILABLE",
            Self::Internal => "INTERNAL",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// `{"code","message",…details}`: details (for example `fields`, `window`) are flattened in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    // Open-ended extras; in TypeScript `ErrorDetail & Record<string, unknown>` at the use site.
    #[cfg_attr(feature = "ts", ts(skip))]
    pub details: Map<String, Value>,
}

impl ErrorDetail {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Map::new(),
        }
    }

    /// Adds one detail field (builder style).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// The whole error response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_flattens_details() {
        let body = ErrorBody {
            error: ErrorDetail::new(ErrorCode::ValidationFailed, "bad").with("fields", vec!["x"]),
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["error"]["code"], "VALIDATION_FAILED");
        assert_eq!(json["error"]["fields"][0], "x");
        let back: ErrorBody = serde_json::from_value(json).unwrap();
        assert_eq!(back, body);
        assert_eq!(ErrorCode::StorageQuotaExceeded.status(), 403);
        let future: ErrorCode = serde_json::from_str("\"SOMETHING_NEW\"").unwrap();
        assert_eq!(future, ErrorCode::Unknown);
    }
}
