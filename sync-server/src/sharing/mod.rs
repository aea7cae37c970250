//! Sharing (S10): public links to an asset at `/t/{shortId}`, the link-preview page crawlers
//! read, the viewer people see, and the preview rendition (`og:image`).
//!
//! The routes are in `routes::shares` (the owner's API) and `routes::share_page` (the public
//! side); the rows in `store::shares`. Here: short ids, crawler detection, the escaping
//! template and the page, the rendition and where it is stored, and the headers of public
//! content.
//!
//! The rendition is made once per link (when it is created, or on first use if that failed)
//! and stored in the blob store beside the asset, under the user's prefix
//! ([`rendition_key`]): it goes with the asset ([`forget_asset`]) and with the account (the
//! deletion sweeps the user's prefix). Its size is kept on the link row, so the page never
//! decodes anything.

pub mod crawler;
pub mod headers;
pub mod html;
pub mod page;
pub mod poster;
pub mod rendition;
pub mod short_id;

use crate::blobs::{asset_key, BlobError};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::assets::AssetRow;
use crate::store::shares::ShareRow;
use futures::TryStreamExt;
use iskra_protocol::{AssetType, ShareLink};
use rendition::Rendition;

/// Why a sharing step failed.
#[derive(Debug, thiserror::Error)]
pub enum SharingError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("storage: {0}")]
    Storage(#[from] BlobError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("rendition task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl From<SharingError> for ApiError {
    fn from(e: SharingError) -> Self {
        match e {
            SharingError::Db(e) => e.into(),
            SharingError::Storage(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

/// Blob key of an asset's preview rendition (beside the asset, under the user's prefix).
pub fn rendition_key(user: &str, sha256: &str) -> String {
    format!("{}.og.jpg", asset_key(user, sha256))
}

/// Deletes an asset's rendition (with the asset; a missing one is not an error).
pub async fn forget_asset(state: &AppState, user: &str, sha256: &str) -> Result<(), BlobError> {
    state.blobs.delete(&rendition_key(user, sha256)).await
}

/// The public URL of a link.
pub fn share_url(state: &AppState, short_id: &str) -> String {
    format!("{}/t/{short_id}", state.public_base)
}

/// The API view of a link.
pub fn to_link(state: &AppState, row: &ShareRow) -> ShareLink {
    ShareLink {
        short_id: row.short_id.clone(),
        url: share_url(state, &row.short_id),
        created_at: crate::store::rfc3339(row.created_at),
    }
}

/// Where the rendition of a link is: its blob (`None`: the placeholder) and size.
#[derive(Debug, Clone)]
pub struct OgImage {
    pub key: Option<String>,
    pub width: i64,
    pub height: i64,
}

/// The link's rendition, made and stored now if the link has none yet.
pub async fn ensure_rendition(
    state: &AppState,
    share: &ShareRow,
    asset: &AssetRow,
) -> Result<OgImage, SharingError> {
    if let (Some(width), Some(height)) = (share.og_width, share.og_height) {
        return Ok(OgImage {
            key: share.og_key.clone(),
            width,
            height,
        });
    }
    let og = make_rendition(state, &share.user_id, asset).await?;
    state
        .store
        .set_share_rendition(&share.short_id, og.key.as_deref(), og.width, og.height)
        .await?;
    Ok(og)
}

/// Makes and stores the rendition of an asset (a video's from its first frame; the placeholder
/// when that frame cannot be taken or the image codec cannot make one).
pub async fn make_rendition(
    state: &AppState,
    user: &str,
    asset: &AssetRow,
) -> Result<OgImage, SharingError> {
    let placeholder = || {
        let p = rendition::placeholder();
        OgImage {
            key: None,
            width: i64::from(p.width),
            height: i64::from(p.height),
        }
    };
    let mut encoded = read_blob(state, &asset_key(user, &asset.sha256)).await?;
    if asset.kind() == AssetType::Video {
        match video_poster(state, &encoded).await {
            Ok(frame) => encoded = frame,
            Err(e) => {
                tracing::info!(asset = %asset.sha256, error = %e, "preview of a video: placeholder");
                return Ok(placeholder());
            }
        }
    }
    let made: Result<Rendition, _> =
        tokio::task::spawn_blocking(move || rendition::from_image(&encoded)).await?;
    let made = match made {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(asset = %asset.sha256, error = %e, "preview rendition: placeholder");
            return Ok(placeholder());
        }
    };
    let key = rendition_key(user, &asset.sha256);
    let tmp = tempfile::NamedTempFile::new_in(&state.tmp_dir)?;
    tokio::fs::write(tmp.path(), &made.bytes).await?;
    let (_, path) = tmp.keep().map_err(|e| e.error)?;
    let stored = state.blobs.put_file(&key, &path).await;
    let _ = tokio::fs::remove_file(&path).await;
    stored?;
    Ok(OgImage {
        key: Some(key),
        width: i64::from(made.width),
        height: i64::from(made.height),
    })
}

/// The first frame of a video (its bytes) as an image, through the configured `ffmpeg`.
async fn video_poster(state: &AppState, video: &[u8]) -> Result<Vec<u8>, poster::PosterError> {
    let program = &state.config.ffmpeg;
    if program.trim().is_empty() {
        return Err(poster::PosterError::Unconfigured);
    }
    let tmp = tempfile::NamedTempFile::new_in(&state.tmp_dir)?;
    tokio::fs::write(tmp.path(), video).await?;
    poster::first_frame(program, tmp.path()).await
}

/// A whole blob in memory (assets are bounded by the upload limit).
pub async fn read_blob(state: &AppState, key: &str) -> Result<Vec<u8>, SharingError> {
    let (len, stream) = state.blobs.get(key).await?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    let mut stream = stream;
    while let Some(chunk) = stream.try_next().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
