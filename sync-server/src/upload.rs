//! The upload pipeline of `PUT /v1/assets/{sha256}`: stream the body to a temporary file while
//! hashing and counting (never the whole file in memory), refuse it as soon as it passes the
//! size limit, then check the hash, detect the type from magic bytes, compare it with the
//! claimed Content-Type and probe dimensions/duration with bounded memory.
//!
//! Every refusal drops the temporary file, so nothing is stored or counted; a body cut off
//! mid-stream ends the same way.

use crate::error::ApiError;
use axum::body::Body;
use futures::StreamExt;
use iskra_media::{MediaError, MediaInfo};
use sha2::{Digest, Sha256};
use std::path::Path;
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

/// Bytes kept from the start of the body for magic-byte detection.
const SNIFF_BYTES: usize = 512;

/// A received, verified upload waiting to be stored.
pub struct Received {
    pub file: NamedTempFile,
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    pub info: MediaInfo,
}

impl From<MediaError> for ApiError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Unsupported(m) => ApiError::UnsupportedMediaType(m),
            MediaError::Invalid(m) => ApiError::InvalidMedia(m),
            MediaError::Io(e) => ApiError::internal(e),
        }
    }
}

/// Streams `body` into a temporary file in `tmp_dir` and verifies it against `expected_sha`.
pub async fn receive(
    body: Body,
    tmp_dir: &Path,
    expected_sha: &str,
    claimed_type: Option<&str>,
    max_bytes: u64,
    max_pixels: u64,
) -> Result<Received, ApiError> {
    let stream = body
        .into_data_stream()
        .map(|c| c.map_err(|e| ApiError::BadRequest(format!("upload interrupted: {e}"))));
    let limits = Limits {
        max_bytes,
        max_pixels,
    };
    let received = receive_stream(stream, tmp_dir, claimed_type, limits).await?;
    if received.sha256 != expected_sha {
        return Err(ApiError::InvalidMedia(format!(
            "the SHA-256 of the body is {}, not the {expected_sha} named in the path",
            received.sha256
        )));
    }
    Ok(received)
}

/// Size and pixel limits of a received file.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_pixels: u64,
}

/// Streams any byte stream (a request body, a downloaded generation output) into a temporary
/// file while hashing, refusing it once it passes `max_bytes`; then detects the type from magic
/// bytes, compares it with the claimed type and probes it with bounded memory.
pub async fn receive_stream<S>(
    mut stream: S,
    tmp_dir: &Path,
    claimed_type: Option<&str>,
    limits: Limits,
) -> Result<Received, ApiError>
where
    S: futures::Stream<Item = Result<bytes::Bytes, ApiError>> + Unpin,
{
    let tmp = tempfile::Builder::new()
        .prefix("upload-")
        .tempfile_in(tmp_dir)
        .map_err(|e| ApiError::internal_in("creating the upload's temporary file", e))?;
    let mut out = tokio::fs::File::from_std(
        tmp.as_file()
            .try_clone()
            .map_err(|e| ApiError::internal_in("opening the upload's temporary file", e))?,
    );
    let written = |e| ApiError::internal_in("writing the upload's temporary file", e);
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut size: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > limits.max_bytes {
            return Err(ApiError::PayloadTooLarge {
                limit: limits.max_bytes,
            });
        }
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(written)?;
    }
    out.flush().await.map_err(written)?;
    out.sync_all().await.map_err(written)?;
    drop(out);
    metrics::counter!("iskra_upload_bytes_total").increment(size);

    let sha256 = hex::encode(hasher.finalize());
    let (_, detected) = iskra_media::sniff(&head).ok_or_else(|| {
        ApiError::UnsupportedMediaType(
            "not a PNG, JPEG, WebP, GIF, MP4, WebM or QuickTime file".into(),
        )
    })?;
    if !iskra_media::claim_matches(claimed_type, detected) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the file is {detected}, but Content-Type says {}",
            claimed_type.unwrap_or("nothing")
        )));
    }
    let path = tmp.path().to_path_buf();
    let max_pixels = limits.max_pixels;
    let info = tokio::task::spawn_blocking(move || iskra_media::probe_file(&path, max_pixels))
        .await
        .map_err(|e| ApiError::internal_in("probing the upload", e))??;
    Ok(Received {
        file: tmp,
        size,
        sha256,
        info,
    })
}
