//! Generations (S7, docs/api.md "Generations"): the request a client submits, the job the server
//! runs through fal, and the model catalogue clients choose from.
//!
//! The validation rules of a request live here ([`NewGeneration::validate`]), so the engine can
//! refuse a bad request offline with the same words the server would use.

use crate::model::Asset;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a generation makes from what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "kebab-case")]
pub enum GenerationKind {
    TextToImage,
    ImageToImage,
    ImageToVideo,
}

impl GenerationKind {
    pub const ALL: [GenerationKind; 3] = [
        GenerationKind::TextToImage,
        GenerationKind::ImageToImage,
        GenerationKind::ImageToVideo,
    ];

    /// The wire name (`text-to-image`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TextToImage => "text-to-image",
            Self::ImageToImage => "image-to-image",
            Self::ImageToVideo => "image-to-video",
        }
    }

    /// Whether the kind starts from an image the caller owns (`imageAssetId`).
    pub fn needs_image(self) -> bool {
        !matches!(self, Self::TextToImage)
    }

    /// Whether the outputs are videos (counted against the `video` windows, S6).
    pub fn makes_video(self) -> bool {
        matches!(self, Self::ImageToVideo)
    }
}

impl std::str::FromStr for GenerationKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown kind {s:?}: expected text-to-image, image-to-image or image-to-video"
                )
            })
    }
}

/// Where a generation is in its life: `queued → running → completed | failed | canceled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "lowercase")]
pub enum GenerationStatus {
    /// Waiting in Iskra for a concurrency slot or for fal to recover.
    Queued,
    /// fal has the request (its `IN_QUEUE` or `IN_PROGRESS`), or its outputs are being stored.
    Running,
    Completed,
    Failed,
    Canceled,
}

impl GenerationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    /// Whether the generation has ended (nothing about it changes any more).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Canceled)
    }
}

impl std::str::FromStr for GenerationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Queued,
            Self::Running,
            Self::Completed,
            Self::Failed,
            Self::Canceled,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| {
            format!("unknown status {s:?}: expected queued, running, completed, failed or canceled")
        })
    }
}

/// Optional parameters of a generation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerationParams {
    /// One of the model's `sizes` (for example `square_hd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub image_size: Option<String>,
    /// 1–4 outputs (images only; videos make one).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub num_images: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub seed: Option<u64>,
    /// Length of a video in seconds (1–10).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub duration_s: Option<u32>,
}

impl GenerationParams {
    /// `numImages` 1–4, `durationS` 1–10, a plausible `imageSize` (the model's list decides).
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(n) = self.num_images {
            if !(1..=MAX_NUM_IMAGES).contains(&n) {
                return Err((
                    "params.numImages",
                    format!("must be from 1 to {MAX_NUM_IMAGES}"),
                ));
            }
        }
        if let Some(d) = self.duration_s {
            if !(1..=MAX_DURATION_S).contains(&d) {
                return Err((
                    "params.durationS",
                    format!("must be from 1 to {MAX_DURATION_S} seconds"),
                ));
            }
        }
        if let Some(size) = &self.image_size {
            if size.is_empty() || size.len() > 64 {
                return Err((
                    "params.imageSize",
                    "must be one of the model's sizes".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Longest prompt accepted, in characters.
pub const MAX_PROMPT_CHARS: usize = 4_000;
/// Most outputs one generation makes.
pub const MAX_NUM_IMAGES: u32 = 4;
/// Longest video a generation may ask for, in seconds.
pub const MAX_DURATION_S: u32 = 10;

/// `POST /v1/generations` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewGeneration {
    pub kind: GenerationKind,
    /// A model id of `GET /v1/models` for this kind; the kind's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub model: Option<String>,
    /// 1–4,000 characters, not blank.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::patterns::schemas::prompt))]
    pub prompt: String,
    /// The source image (SHA-256) of image-to-image and image-to-video.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::patterns::schemas::optional_asset_id))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub image_asset_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub params: Option<GenerationParams>,
    /// The project whose canvas receives the outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub project_id: Option<Uuid>,
    /// The placeholder element the outputs replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub element_id: Option<Uuid>,
}

/// One invalid field of a request: `(field, message)`.
pub type FieldError = (&'static str, String);

impl NewGeneration {
    /// The rules every client and the server apply before anything is queued: prompt 1–4,000
    /// characters, `numImages` 1–4, `durationS` 1–10, `imageAssetId` present (a SHA-256) exactly
    /// for the kinds that start from an image, `elementId` only with `projectId`.
    pub fn validate(&self) -> Result<(), FieldError> {
        let chars = self.prompt.chars().count();
        if self.prompt.trim().is_empty() {
            return Err(("prompt", "must not be empty".into()));
        }
        if chars > MAX_PROMPT_CHARS {
            return Err((
                "prompt",
                format!("must be at most {MAX_PROMPT_CHARS} characters (it has {chars})"),
            ));
        }
        if self
            .prompt
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            return Err(("prompt", "must not contain control characters".into()));
        }
        if let Some(model) = &self.model {
            if model.is_empty() || model.len() > 200 {
                return Err(("model", "must be a model id of GET /v1/models".into()));
            }
        }
        match (&self.image_asset_id, self.kind.needs_image()) {
            (None, true) => {
                return Err((
                    "imageAssetId",
                    format!("is required for {}", self.kind.as_str()),
                ))
            }
            (Some(_), false) => {
                return Err((
                    "imageAssetId",
                    "is only used by image-to-image and image-to-video".into(),
                ))
            }
            (Some(id), true) if !crate::is_sha256_hex(id) => {
                return Err(("imageAssetId", "must be an asset id (hex SHA-256)".into()))
            }
            _ => {}
        }
        if let Some(p) = &self.params {
            p.validate()?;
        }
        if self.element_id.is_some() && self.project_id.is_none() {
            return Err(("elementId", "needs projectId".into()));
        }
        Ok(())
    }

    /// How many outputs this request asks for (videos make one).
    pub fn num_outputs(&self) -> u32 {
        if self.kind.makes_video() {
            1
        } else {
            self.params.as_ref().and_then(|p| p.num_images).unwrap_or(1)
        }
    }
}

/// Why a generation failed (or was canceled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
pub struct GenerationError {
    /// `FAL_REJECTED`, `FAL_FAILED`, `BAD_OUTPUT`, `STUCK`, `SUBMIT_INTERRUPTED`, `CANCELED`, …
    pub code: String,
    pub message: String,
}

/// Credits of a generation (filled in by the credits ledger).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
pub struct GenerationCredits {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub estimated: i64,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub charged: Option<i64>,
}

/// A generation job as the API reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct Generation {
    pub id: Uuid,
    pub kind: GenerationKind,
    pub status: GenerationStatus,
    pub prompt: String,
    pub model: String,
    pub params: GenerationParams,
    pub image_asset_id: Option<String>,
    pub project_id: Option<Uuid>,
    pub element_id: Option<Uuid>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    /// Jobs ahead of this one: Iskra's own line while `queued`, fal's while fal queues it.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub queue_position: Option<i64>,
    pub error: Option<GenerationError>,
    pub outputs: Vec<Asset>,
    pub credits: Option<GenerationCredits>,
}

/// How a client that has not signed in reads the result of its generation (S6): the
/// capability token (given only in the 202, never stored by the server), the URL it opens,
/// and when the result is removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AnonymousAccess {
    pub token: String,
    /// `{public base}/v1/generations/anonymous/{token}`.
    pub url: String,
    pub expires_at: String,
}

/// A generation of a client that has not signed in: the Generation and its access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnonymousGeneration {
    #[serde(flatten)]
    pub generation: Generation,
    pub anonymous: AnonymousAccess,
}

/// Where an asset came from when a generation made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct AssetGeneration {
    pub generation_id: Uuid,
    pub prompt: String,
    pub model: String,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub seed: Option<u64>,
}

/// One model of `GET /v1/models`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    pub id: String,
    pub kind: GenerationKind,
    pub label: String,
    pub default: bool,
    pub max_images: u32,
    pub sizes: Vec<String>,
}

/// `GET /v1/models`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
pub struct ModelList {
    pub items: Vec<ModelInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: GenerationKind) -> NewGeneration {
        NewGeneration {
            kind,
            model: None,
            prompt: "a red fox in snow".into(),
            image_asset_id: None,
            params: None,
            project_id: None,
            element_id: None,
        }
    }

    #[test]
    fn prompt_and_counts_are_bounded() {
        assert!(req(GenerationKind::TextToImage).validate().is_ok());
        let mut r = req(GenerationKind::TextToImage);
        r.prompt = " ".into();
        assert_eq!(r.validate().unwrap_err().0, "prompt");
        r.prompt = "x".repeat(MAX_PROMPT_CHARS + 1);
        assert_eq!(r.validate().unwrap_err().0, "prompt");
        r.prompt = "é".repeat(MAX_PROMPT_CHARS);
        assert!(
            r.validate().is_ok(),
            "the limit counts characters, not bytes"
        );
        for n in [0, 9] {
            r.params = Some(GenerationParams {
                num_images: Some(n),
                ..Default::default()
            });
            assert_eq!(r.validate().unwrap_err().0, "params.numImages");
        }
    }

    #[test]
    fn image_input_matches_the_kind() {
        let r = req(GenerationKind::ImageToImage);
        assert_eq!(r.validate().unwrap_err().0, "imageAssetId");
        let mut r = req(GenerationKind::TextToImage);
        r.image_asset_id = Some("a".repeat(64));
        assert_eq!(r.validate().unwrap_err().0, "imageAssetId");
        let mut r = req(GenerationKind::ImageToVideo);
        r.image_asset_id = Some("a".repeat(64));
        assert!(r.validate().is_ok());
        assert_eq!(r.num_outputs(), 1);
    }

    #[test]
    fn wire_names() {
        let json = serde_json::to_value(req(GenerationKind::ImageToVideo)).unwrap();
        assert_eq!(json["kind"], "image-to-video");
        assert!(serde_json::from_str::<NewGeneration>(
            r#"{"kind":"text-to-image","prompt":"x","surprise":1}"#
        )
        .is_err());
        assert_eq!("failed".parse(), Ok(GenerationStatus::Failed));
    }
}
