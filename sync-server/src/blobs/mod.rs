//! Where asset bytes live: a local directory (embedded default) or an S3-compatible object
//! store (scale-out), behind one trait.
//!
//! Uploads arrive as a finished temporary file (already hashed and validated), so `put_file`
//! can move it into place without buffering: a rename for the local store, a multipart upload
//! with bounded parts for S3. Reads stream.

mod local;
mod s3;

pub use local::LocalBlobs;
pub use s3::{bucket_from_env, S3Blobs};

use bytes::Bytes;
use futures::stream::BoxStream;
use std::path::Path;
use std::sync::Arc;

/// A stream of a blob's bytes.
pub type BlobStream = BoxStream<'static, std::io::Result<Bytes>>;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob not found")]
    NotFound,
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("object store: {0}")]
    Store(String),
    #[error("unsupported storage URL {0:?} (expected file:///dir or s3://bucket/prefix)")]
    BadUrl(String),
}

/// Blob storage.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores the file at `path` (which may be moved or consumed) under `key`.
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), BlobError>;
    /// Streams a blob and tells its size.
    async fn get(&self, key: &str) -> Result<(u64, BlobStream), BlobError>;
    /// Deletes a blob; deleting a missing blob is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// Deletes every blob under a prefix (a user's whole storage).
    async fn delete_prefix(&self, prefix: &str) -> Result<(), BlobError>;
    /// A cheap reachability check for `/health`.
    async fn check(&self) -> Result<(), BlobError>;
}

/// Opens the store named by a storage URL (`file:///dir`, `s3://bucket/prefix`).
pub async fn open(url: &str) -> Result<Arc<dyn BlobStore>, BlobError> {
    if let Some(dir) = url.strip_prefix("file://") {
        Ok(Arc::new(LocalBlobs::open(Path::new(dir)).await?))
    } else if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(BlobError::BadUrl(url.into()));
        }
        Ok(Arc::new(S3Blobs::from_env(bucket, prefix)?))
    } else {
        Err(BlobError::BadUrl(url.into()))
    }
}

/// The key of a user's asset: users are kept apart even when their bytes are equal.
pub fn asset_key(user: &str, sha256: &str) -> String {
    format!("{}/{}", user_prefix(user), sha256)
}

/// The prefix of all of a user's blobs (user ids are hex-encoded to be path-safe).
pub fn user_prefix(user: &str) -> String {
    format!("users/{}", hex::encode(user.as_bytes()))
}
