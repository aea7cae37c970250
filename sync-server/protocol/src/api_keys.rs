//! API keys and the public images API (S9, docs/api.md "API keys" and "Images API"): the key
//! management bodies of `/v1/api-keys` and the requests and answers of `/v1/images/*`, which
//! other apps call with `x-api-key`.

use crate::generation::{GenerationStatus, MAX_NUM_IMAGES, MAX_PROMPT_CHARS};
use crate::model::Asset;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Scope of `POST /v1/images/generate` and `POST /v1/images/edit`.
pub const SCOPE_GENERATE: &str = "images:generate";
/// Scope of `GET /v1/images/job/{jobId}` and `GET /v1/images/usage`.
pub const SCOPE_READ: &str = "images:read";
/// Every scope a key may hold (a new key without `scopes` gets all of them).
pub const SCOPES: [&str; 2] = [SCOPE_GENERATE, SCOPE_READ];
/// Longest key name, in characters.
pub const MAX_KEY_NAME_CHARS: usize = 100;

/// `POST /v1/api-keys` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApiKey {
    /// 1–100 characters, not blank, for the owner's eyes.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::patterns::schemas::key_name))]
    pub name: String,
    /// `images:generate` and/or `images:read`; both when absent.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::patterns::schemas::key_scopes))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

impl NewApiKey {
    /// A trimmed, non-empty name of at most [`MAX_KEY_NAME_CHARS`], and known scopes (at least
    /// one, none twice). Returns the scopes the key gets.
    pub fn validate(&self) -> Result<Vec<String>, (&'static str, String)> {
        if self.name.trim().is_empty() || self.name.chars().count() > MAX_KEY_NAME_CHARS {
            return Err((
                "name",
                format!("must be 1 to {MAX_KEY_NAME_CHARS} characters"),
            ));
        }
        let Some(scopes) = &self.scopes else {
            return Ok(SCOPES.iter().map(|s| (*s).to_owned()).collect());
        };
        if scopes.is_empty() {
            return Err(("scopes", "must name at least one scope".into()));
        }
        let mut out: Vec<String> = Vec::new();
        for s in scopes {
            if !SCOPES.contains(&s.as_str()) {
                return Err((
                    "scopes",
                    format!("unknown scope {s:?} (known: {})", SCOPES.join(", ")),
                ));
            }
            if out.contains(s) {
                return Err(("scopes", format!("{s} is named twice")));
            }
            out.push(s.clone());
        }
        Ok(out)
    }
}

/// Use of a key in one UTC day (or summed over a range): what a bill is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct KeyUsage {
    /// Requests the key made that passed authentication and its rate limit.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub requests: i64,
    /// Generations the key submitted.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub generations: i64,
    /// Images those generations made.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub images: i64,
    /// Credits charged for them (settled jobs only).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub credits_charged: i64,
}

/// A key as `GET /v1/api-keys` lists it (never the key itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    pub id: Uuid,
    pub name: String,
    /// The first 8 characters of the key (`isk_` and 4 more), to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// Use of the key today (UTC).
    pub usage_today: KeyUsage,
}

/// `POST /v1/api-keys` answer: the key, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct NewApiKeyCreated {
    /// `isk_` + 32 base62 characters + a 6-character checksum; the server keeps only a hash.
    pub key: String,
    #[serde(flatten)]
    pub info: ApiKeyInfo,
}

/// `GET /v1/api-keys` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyList {
    pub items: Vec<ApiKeyInfo>,
}

/// `POST /v1/images/generate` body (and the fields of `POST /v1/images/edit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRequest {
    /// 1–4,000 characters, not blank.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::patterns::schemas::prompt))]
    pub prompt: String,
    /// A model id of `GET /v1/models`; the default of the kind when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// One of the model's sizes (for example `square_hd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<String>,
    /// 1–4 outputs.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_images: Option<u32>,
    /// The reference image of an edit (an asset id, SHA-256); JSON edits need it.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::patterns::schemas::optional_asset_id))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_asset_id: Option<String>,
}

/// `POST /v1/images/*` answer (202): the job to poll with `GET /v1/images/job/{jobId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageJobAccepted {
    pub job_id: Uuid,
    pub status: GenerationStatus,
}

/// `GET /v1/images/job/{jobId}` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageJob {
    pub job_id: Uuid,
    pub status: GenerationStatus,
    pub prompt: String,
    pub model: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Why a failed or canceled job ended (`code`, `message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::generation::GenerationError>,
    /// The images, each with a short-lived signed `url`, once completed.
    pub outputs: Vec<Asset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits_charged: Option<i64>,
}

/// One row of `GET /v1/images/usage`: a key's use in one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct UsageRow {
    pub key_id: Uuid,
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    #[serde(flatten)]
    pub usage: KeyUsage,
}

/// `GET /v1/images/usage` answer: rows by key and day, and their sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    pub from: String,
    pub to: String,
    pub items: Vec<UsageRow>,
    pub total: KeyUsage,
}

impl ImageRequest {
    /// A non-empty prompt of at most [`MAX_PROMPT_CHARS`] and 1–4 images (the model decides the
    /// rest when the job is admitted).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.prompt.trim().is_empty() || self.prompt.chars().count() > MAX_PROMPT_CHARS {
            return Err((
                "prompt",
                format!("must be 1 to {MAX_PROMPT_CHARS} characters"),
            ));
        }
        if let Some(n) = self.num_images {
            if !(1..=MAX_NUM_IMAGES).contains(&n) {
                return Err(("numImages", format!("must be from 1 to {MAX_NUM_IMAGES}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_default_to_all_and_unknown_ones_are_refused() {
        let k = |scopes: Option<Vec<&str>>| NewApiKey {
            name: "ci".into(),
            scopes: scopes.map(|v| v.into_iter().map(str::to_owned).collect()),
        };
        assert_eq!(k(None).validate().unwrap(), SCOPES.to_vec());
        assert_eq!(
            k(Some(vec![SCOPE_READ])).validate().unwrap(),
            vec![SCOPE_READ]
        );
        assert_eq!(k(Some(vec![])).validate().unwrap_err().0, "scopes");
        assert_eq!(k(Some(vec!["admin"])).validate().unwrap_err().0, "scopes");
        assert_eq!(
            k(Some(vec![SCOPE_READ, SCOPE_READ]))
                .validate()
                .unwrap_err()
                .0,
            "scopes"
        );
        let blank = NewApiKey {
            name: "  ".into(),
            scopes: None,
        };
        assert_eq!(blank.validate().unwrap_err().0, "name");
    }
}
