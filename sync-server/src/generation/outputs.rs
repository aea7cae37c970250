//! A finished job's outputs: each URL fal names is downloaded streaming, with the checks of an
//! upload (size limit, type from magic bytes, probing, the megapixel cap), and only when every
//! output passed are they stored as the user's assets (`source: "generation"`). A bad output —
//! too large, HTML posing as an image, a URL that refuses — fails the job and stores nothing.
//! fal's URLs are never shown to clients: clients see the stored assets' signed URLs.

use crate::error::ApiError;
use crate::fal::OutputRef;
use crate::state::AppState;
use crate::store::assets::{AssetRow, InsertOutcome};
use crate::store::generations::GenRow;
use crate::upload::{self, Limits, Received};
use futures::StreamExt;
use iskra_protocol::{AssetGeneration, AssetSource, StorageQuota};
use uuid::Uuid;

/// Why outputs could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// fal's output is not something Iskra keeps; the job fails with this message.
    #[error("{0}")]
    Bad(String),
    /// The user's storage has no room for the outputs.
    #[error("storage limit reached while storing the outputs")]
    Quota(Box<StorageQuota>),
    /// Iskra's own storage failed; the job is tried again later.
    #[error("storage: {0}")]
    Internal(String),
}

/// Downloads, checks and stores every output of `row`; returns the stored asset rows in order.
pub async fn store_all(
    state: &AppState,
    row: &GenRow,
    refs: &[OutputRef],
    seed: Option<u64>,
) -> Result<Vec<AssetRow>, OutputError> {
    if refs.is_empty() {
        return Err(OutputError::Bad("fal's result has no output files".into()));
    }
    let mut received = Vec::with_capacity(refs.len());
    for (i, r) in refs.iter().enumerate() {
        received.push(
            download(state, r).await.map_err(|e| {
                OutputError::Bad(format!("output {} of {}: {e}", i + 1, refs.len()))
            })?,
        );
    }
    let provenance = serde_json::to_string(&AssetGeneration {
        generation_id: Uuid::parse_str(&row.id).unwrap_or_default(),
        prompt: row.prompt.clone(),
        model: row.model.clone(),
        seed,
    })
    .ok();
    let mut stored = Vec::with_capacity(received.len());
    for file in received {
        let outcome = crate::services::assets::store_received(
            state,
            &row.user_id,
            file,
            AssetSource::Generation,
            provenance.clone(),
        )
        .await
        .map_err(|e| OutputError::Internal(e.to_string()))?;
        match outcome {
            InsertOutcome::Created(a) | InsertOutcome::Existing(a) => stored.push(a),
            InsertOutcome::QuotaExceeded(q) => return Err(OutputError::Quota(Box::new(q))),
        }
    }
    Ok(stored)
}

/// Streams one output into a checked temporary file.
async fn download(state: &AppState, r: &OutputRef) -> Result<Received, String> {
    let url = reqwest::Url::parse(&r.url).map_err(|_| "fal gave an invalid URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("fal gave a {} URL, not http(s)", url.scheme()));
    }
    let resp = state
        .gen
        .http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("could not be downloaded ({})", describe(&e)))?;
    if !resp.status().is_success() {
        return Err(format!("download answered HTTP {}", resp.status().as_u16()));
    }
    let max_bytes = state.config.max_upload_bytes;
    if resp.content_length().is_some_and(|n| n > max_bytes) {
        return Err(format!("is larger than the {max_bytes}-byte limit"));
    }
    let limits = Limits {
        max_bytes,
        max_pixels: state.config.max_image_pixels,
    };
    let stream = resp.bytes_stream().map(|c| {
        c.map_err(|e| ApiError::BadRequest(format!("download interrupted ({})", describe(&e))))
    });
    upload::receive_stream(stream, &state.tmp_dir, None, limits)
        .await
        .map_err(|e| match e {
            ApiError::PayloadTooLarge { limit } => format!("is larger than the {limit}-byte limit"),
            ApiError::UnsupportedMediaType(m) | ApiError::InvalidMedia(m) => m,
            ApiError::BadRequest(m) => m,
            other => other.to_string(),
        })
}

/// A short, key-free description of a download error.
fn describe(e: &reqwest::Error) -> &'static str {
    if e.is_connect() {
        "connection refused"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "body cut off"
    } else {
        "request failed"
    }
}
