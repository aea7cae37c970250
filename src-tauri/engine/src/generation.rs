//! AI generation as this device knows it (D7): the request a caller makes
//! ([`GenerateRequest`]), the local record of a generation ([`LocalGeneration`], with the
//! `waiting` state of a request still in the outbox) and why one failed ([`GenerationFailure`],
//! with the rate-limit window, storage or credit numbers the server gave), plus the size of the
//! placeholder element that stands where the outputs will appear.
//!
//! The wire types (`NewGeneration`, `Generation`, …) are `iskra-protocol`'s; the engine's
//! operations are in [`crate::engine`] (`Engine::generate` and friends) and the server side of
//! them in [`crate::sync`].

use crate::credits::CreditShortfall;
use iskra_protocol::{
    ErrorDetail, GenerationError, GenerationKind, GenerationParams, GenerationStatus, StorageQuota,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// What a signed-out caller is told: generation needs the account.
pub const SIGN_IN_TO_GENERATE: &str = "Sign in to generate: generation runs on your Iskra account";

/// Side of a placeholder whose output size is not known (fal's default, `square_hd`).
pub const DEFAULT_OUTPUT_SIDE: f64 = 1024.0;

/// A world point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// A generation as the caller asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateRequest {
    pub kind: GenerationKind,
    /// A model id of the catalogue ([`crate::Engine::models`]); the kind's default when `None`.
    pub model: Option<String>,
    pub prompt: String,
    pub image_size: Option<String>,
    pub num_images: Option<u32>,
    pub seed: Option<u64>,
    pub duration_s: Option<u32>,
    /// The image element image-to-image and image-to-video start from.
    pub source_element_id: Option<Uuid>,
    /// Centre of the placeholder. `None`: right of the source element, else right of the
    /// canvas's content, else the origin.
    pub at: Option<Point>,
}

impl GenerateRequest {
    /// A text-to-image request with defaults for everything but the prompt.
    pub fn text_to_image(prompt: impl Into<String>) -> Self {
        Self {
            kind: GenerationKind::TextToImage,
            model: None,
            prompt: prompt.into(),
            image_size: None,
            num_images: None,
            seed: None,
            duration_s: None,
            source_element_id: None,
            at: None,
        }
    }

    /// The optional parameters as the wire wants them (`None` when all are unset).
    pub fn params(&self) -> Option<GenerationParams> {
        let p = GenerationParams {
            image_size: self.image_size.clone(),
            num_images: self.num_images,
            seed: self.seed,
            duration_s: self.duration_s,
        };
        (p != GenerationParams::default()).then_some(p)
    }
}

/// Where a generation is: `waiting` in the outbox, then the server's statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GenerationState {
    Waiting,
    Queued,
    Running,
    Completed,
    Failed,
    Canceled,
}

impl GenerationState {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Waiting,
            Self::Queued,
            Self::Running,
            Self::Completed,
            Self::Failed,
            Self::Canceled,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether nothing about the generation changes any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Canceled)
    }

    /// Order of the life cycle: an update that would go back (a late event) is ignored.
    pub fn rank(self) -> u8 {
        match self {
            Self::Waiting => 0,
            Self::Queued => 1,
            Self::Running => 2,
            Self::Completed | Self::Failed | Self::Canceled => 3,
        }
    }
}

impl From<GenerationStatus> for GenerationState {
    fn from(s: GenerationStatus) -> Self {
        match s {
            GenerationStatus::Queued => Self::Queued,
            GenerationStatus::Running => Self::Running,
            GenerationStatus::Completed => Self::Completed,
            GenerationStatus::Failed => Self::Failed,
            GenerationStatus::Canceled => Self::Canceled,
        }
    }
}

/// The rate-limit window a refused request hit (`429 RATE_LIMITED`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitInfo {
    /// `minute`, `hour` or `day`.
    pub window: String,
    pub limit: i64,
    pub used: i64,
    pub remaining: i64,
    pub resets_at: String,
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub upgrade_url: Option<String>,
}

/// Why a generation failed: the server's refusal of the request, or fal's failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationFailure {
    /// `RATE_LIMITED`, `STORAGE_QUOTA_EXCEEDED`, `VALIDATION_FAILED`, `FAL_FAILED`, …
    pub code: String,
    pub message: String,
    /// Which limit was hit, how much remains and when it resets (429).
    pub limit: Option<RateLimitInfo>,
    /// The storage numbers when storage is full (403).
    pub storage: Option<StorageQuota>,
    /// What the request needed and what there was, when credits were short (402).
    #[serde(default)]
    pub credits: Option<CreditShortfall>,
}

impl GenerationFailure {
    /// From the server's error body of a refusal.
    pub fn from_detail(detail: &ErrorDetail) -> Self {
        let details = Value::Object(detail.details.clone());
        Self {
            code: detail.code.as_str().to_owned(),
            message: detail.message.clone(),
            limit: serde_json::from_value(details.clone()).ok(),
            storage: details
                .get("storage")
                .and_then(|s| serde_json::from_value(s.clone()).ok()),
            credits: CreditShortfall::from_detail(detail),
        }
    }

    /// From what the outbox keeps of a refusal.
    pub fn from_outbox_error(error: &crate::store::outbox::OpError) -> Self {
        Self::from_detail(&error.detail())
    }

    /// From a failed or canceled job.
    pub fn from_job(error: &GenerationError) -> Self {
        Self::plain(&error.code, &error.message)
    }

    /// A failure with a code and a message only.
    pub fn plain(code: &str, message: &str) -> Self {
        Self {
            code: code.to_owned(),
            message: message.to_owned(),
            limit: None,
            storage: None,
            credits: None,
        }
    }
}

/// A generation on this device: requested here (possibly still in the outbox), or learnt from
/// the server (another device's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalGeneration {
    /// Local id, stable (retries included): the id of the first outbox operation that
    /// submitted it (its `Idempotency-Key`), or the server id for a generation another device
    /// requested.
    pub id: Uuid,
    /// The server's id once it accepted the request.
    pub server_id: Option<Uuid>,
    pub project_id: Uuid,
    /// The placeholder element the outputs replace.
    pub element_id: Uuid,
    pub kind: GenerationKind,
    pub prompt: String,
    pub model: String,
    pub params: GenerationParams,
    pub status: GenerationState,
    pub queue_position: Option<i64>,
    pub error: Option<GenerationFailure>,
    /// Asset ids (SHA-256) of the outputs.
    pub outputs: Vec<String>,
    pub created_at: String,
}

/// fal's named image sizes, as (name, width, height).
const NAMED_SIZES: &[(&str, f64, f64)] = &[
    ("square_hd", 1024.0, 1024.0),
    ("square", 512.0, 512.0),
    ("portrait_4_3", 768.0, 1024.0),
    ("portrait_16_9", 576.0, 1024.0),
    ("landscape_4_3", 1024.0, 768.0),
    ("landscape_16_9", 1024.0, 576.0),
];

/// Size of the placeholder of a generation: the requested image size (a fal name or
/// `WIDTHxHEIGHT`), else the source image's size (image-to-image and -video keep its aspect),
/// else a `square_hd` square.
pub fn placeholder_size(image_size: Option<&str>, source: Option<(f64, f64)>) -> (f64, f64) {
    if let Some(size) = image_size {
        if let Some(&(_, w, h)) = NAMED_SIZES.iter().find(|(n, _, _)| *n == size) {
            return (w, h);
        }
        let parsed = size
            .split_once(['x', 'X', '×'])
            .and_then(|(w, h)| Some((w.trim().parse::<f64>().ok()?, h.trim().parse().ok()?)));
        if let Some((w, h)) = parsed.filter(|(w, h)| *w >= 1.0 && *h >= 1.0) {
            return (w, h);
        }
    }
    match source {
        Some((w, h)) if w > 0.0 && h > 0.0 => (w, h),
        _ => (DEFAULT_OUTPUT_SIDE, DEFAULT_OUTPUT_SIDE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::outbox::OpError;
    use iskra_protocol::ErrorCode;
    use serde_json::json;

    #[test]
    fn placeholder_follows_the_requested_size_then_the_source() {
        assert_eq!(
            placeholder_size(Some("landscape_16_9"), None),
            (1024.0, 576.0)
        );
        assert_eq!(
            placeholder_size(Some("640x480"), Some((1.0, 1.0))),
            (640.0, 480.0)
        );
        assert_eq!(
            placeholder_size(Some("odd"), Some((300.0, 200.0))),
            (300.0, 200.0)
        );
        assert_eq!(placeholder_size(None, None), (1024.0, 1024.0));
    }

    #[test]
    fn failures_keep_the_window_storage_and_credit_numbers() {
        let detail = ErrorDetail::new(ErrorCode::RateLimited, "10 a day")
            .with("window", "day")
            .with("limit", 10)
            .with("used", 10)
            .with("remaining", 0)
            .with("resetsAt", "2026-12-01T00:00:00.000Z")
            .with("tier", "free");
        let f = GenerationFailure::from_outbox_error(&OpError::Rejected {
            status: 429,
            error: detail,
        });
        assert_eq!(f.code, "RATE_LIMITED");
        let limit = f.limit.unwrap();
        assert_eq!((limit.window.as_str(), limit.remaining), ("day", 0));
        assert_eq!(limit.upgrade_url, None);
        let storage = json!({"usedBytes": 5, "limitBytes": 5, "images": 1, "imagesLimit": 1,
            "videos": 0, "videosLimit": 1, "overLimit": true});
        let detail =
            ErrorDetail::new(ErrorCode::StorageQuotaExceeded, "full").with("storage", storage);
        let f = GenerationFailure::from_detail(&detail);
        assert!(f.limit.is_none() && f.storage.unwrap().over_limit);
        let f = GenerationFailure::from_outbox_error(&OpError::Local {
            message: "boom".into(),
        });
        assert_eq!(f.message, "boom");
        let short = ErrorDetail::new(ErrorCode::InsufficientCredits, "not enough credits")
            .with("required", 12)
            .with("available", 5);
        let f = GenerationFailure::from_outbox_error(&OpError::Rejected {
            status: 402,
            error: short,
        });
        assert_eq!(f.code, "INSUFFICIENT_CREDITS");
        assert_eq!(
            f.credits,
            Some(CreditShortfall {
                required: 12,
                available: 5
            })
        );
        // Records stored before credits existed still read.
        let old: GenerationFailure = serde_json::from_value(
            json!({"code": "X", "message": "m", "limit": null, "storage": null}),
        )
        .unwrap();
        assert_eq!(old.credits, None);
    }

    #[test]
    fn states_order_their_life_cycle() {
        assert_eq!(
            GenerationState::parse("waiting"),
            Some(GenerationState::Waiting)
        );
        assert!(GenerationState::Queued.rank() < GenerationState::Failed.rank());
        assert!(GenerationState::Canceled.is_terminal());
        let s: GenerationState = GenerationStatus::Running.into();
        assert_eq!(serde_json::to_value(s).unwrap(), "running");
    }
}
