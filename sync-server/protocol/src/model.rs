//! Resources of docs/api.md: account, quota, projects, canvas elements, assets, lists and health.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Subscription tier of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Pro,
    Enterprise,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Free, Tier::Pro, Tier::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Pro => "pro",
            Tier::Enterprise => "enterprise",
        }
    }
}

impl std::str::FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "free" => Ok(Tier::Free),
            "pro" => Ok(Tier::Pro),
            "enterprise" => Ok(Tier::Enterprise),
            other => Err(format!(
                "unknown tier {other:?}: expected free, pro or enterprise"
            )),
        }
    }
}

/// `GET /v1/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: String,
    pub email: Option<String>,
    pub tier: Tier,
    pub created_at: String,
    /// The state of subscription payments (`payment_failed` after `invoice.payment_failed`).
    #[serde(default)]
    pub billing_status: crate::BillingStatus,
}

/// Storage part of `GET /v1/quota` (a limit of -1 means unlimited).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct StorageQuota {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub used_bytes: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub limit_bytes: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub images: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub images_limit: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub videos: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub videos_limit: i64,
    pub over_limit: bool,
}

impl StorageQuota {
    /// The quota of these counters against these limits (`-1`, any negative: unlimited); over
    /// the limit once any counter has reached its limit. The one derivation the server and the
    /// app use.
    pub fn of(usage: [i64; 3], limits: [i64; 3]) -> Self {
        let [used_bytes, images, videos] = usage;
        let [limit_bytes, images_limit, videos_limit] = limits;
        let reached = |used: i64, limit: i64| limit >= 0 && used >= limit;
        Self {
            used_bytes,
            limit_bytes,
            images,
            images_limit,
            videos,
            videos_limit,
            over_limit: reached(used_bytes, limit_bytes)
                || reached(images, images_limit)
                || reached(videos, videos_limit),
        }
    }
}

/// One window of a rate limit as reported to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct WindowStatus {
    /// `minute`, `hour` or `day`.
    pub window: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub limit: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub used: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub remaining: i64,
    pub resets_at: String,
}

/// Generation windows of `GET /v1/quota`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
pub struct GenerationQuota {
    pub standard: Vec<WindowStatus>,
    pub video: Vec<WindowStatus>,
}

/// `GET /v1/quota`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    pub tier: Tier,
    pub is_anonymous: bool,
    pub storage: StorageQuota,
    pub generation: GenerationQuota,
    pub upgrade_url: String,
}

/// A project as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub image_count: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub video_count: i64,
    pub thumbnail_asset_id: Option<String>,
}

/// `POST /v1/projects` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewProject {
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    /// At most 200 characters, not blank, no control characters.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::patterns::schemas::optional_project_name))]
    pub name: Option<String>,
}

/// `PATCH /v1/projects/{id}` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectPatch {
    /// At most 200 characters, not blank, no control characters.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::patterns::schemas::project_name))]
    pub name: String,
}

/// Longest project name accepted.
pub const MAX_PROJECT_NAME_CHARS: usize = 200;

/// Checks a project name: 1–200 characters, not only white space, no control characters.
pub fn validate_project_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("name must not be empty".into());
    }
    if name.chars().count() > MAX_PROJECT_NAME_CHARS {
        return Err(format!(
            "name must be at most {MAX_PROJECT_NAME_CHARS} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("name must not contain control characters".into());
    }
    Ok(())
}

/// Video playback state, part of the saved canvas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Playback {
    pub playing: bool,
    pub current_time: f64,
    pub muted: bool,
}

/// What a canvas element shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "lowercase")]
pub enum ElementKind {
    Image,
    Video,
    Generation,
}

/// One element of a canvas, as materialised from its properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct Element {
    pub id: Uuid,
    pub kind: ElementKind,
    pub asset_id: Option<String>,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub rotation: f64,
    pub z: String,
    pub locked: bool,
    pub playback: Option<Playback>,
    pub generation_id: Option<Uuid>,
}

/// Camera of a canvas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
pub struct Viewport {
    pub x: f64,
    pub y: f64,
    pub scale: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Self {
            x: 0.0,
            y: 0.0,
            scale: 1.0,
        }
    }
}

/// Canvas state of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
pub struct Canvas {
    pub elements: Vec<Element>,
    pub viewport: Viewport,
}

/// `GET /v1/projects/{id}`: the project, its canvas and the sync cursor of that state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct ProjectDetail {
    #[serde(flatten)]
    pub project: Project,
    pub canvas: Canvas,
    pub cursor: String,
}

/// Kind of media an asset holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "lowercase")]
pub enum AssetType {
    Image,
    Video,
}

impl AssetType {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::Image => "image",
            AssetType::Video => "video",
        }
    }
}

/// Where an asset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "lowercase")]
pub enum AssetSource {
    Upload,
    Generation,
}

/// A stored file of a user, addressed by the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    /// Lower-case hex SHA-256 of the bytes.
    pub id: String,
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    pub mime_type: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub size_bytes: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub width: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub height: i64,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub duration_ms: Option<i64>,
    pub created_at: String,
    pub source: AssetSource,
    /// Signed URL, valid for at least five minutes.
    pub url: String,
    /// The generation that made this asset (`source: "generation"`), else null.
    #[serde(default)]
    pub generation: Option<crate::generation::AssetGeneration>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
    pub checks: HealthChecks,
}

/// The individual checks of `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthChecks {
    pub database: String,
    pub storage: String,
    pub fal: String,
}

/// True when `s` is a lower-case hex SHA-256 (64 characters).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
