//! Sharing and gallery wire types (S10): public links to an asset (`/t/{shortId}`), the list of
//! the user's links with their counts, and the gallery of generated images.

use serde::{Deserialize, Serialize};

/// `POST /v1/assets/{id}/share`: the asset's public link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct ShareLink {
    /// 8 characters of `A-Za-z0-9_-`.
    pub short_id: String,
    /// The absolute URL of the share page (`{public base}/t/{shortId}`).
    pub url: String,
    /// When the link was made (RFC 3339).
    pub created_at: String,
}

/// One item of `GET /v1/shares`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct Share {
    pub short_id: String,
    pub url: String,
    pub created_at: String,
    /// The shared asset (its SHA-256).
    pub asset_id: String,
    /// People who opened the share page.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub views: i64,
    /// Downloads through `/t/{shortId}/image`.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub downloads: i64,
}

/// One item of `GET /v1/gallery`: a generated image with its provenance and its link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct GalleryItem {
    /// The asset (its SHA-256).
    pub asset_id: String,
    /// A fresh signed URL of the image.
    pub url: String,
    pub prompt: String,
    pub model: String,
    /// `{width}x{height}` in pixels.
    pub size: String,
    pub mime_type: String,
    pub created_at: String,
    /// The share link, when the image is shared.
    pub share: Option<ShareLink>,
    /// Views of the share page (0 when not shared).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub views: i64,
    /// Downloads through the share link (0 when not shared).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub downloads: i64,
}
