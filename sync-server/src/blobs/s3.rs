//! S3-compatible blob store through `object_store`: multipart uploads with bounded parts, so a
//! 25 MB upload never sits in memory whole. Credentials and endpoint come from the usual
//! `AWS_*` variables (`AWS_ENDPOINT_URL` for MinIO, moto or any S3-compatible service).

use super::{BlobError, BlobStore, BlobStream};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use std::path::Path;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Size of each part of a multipart upload (S3's minimum).
const PART_BYTES: usize = 5 * 1024 * 1024;

/// Blobs in an S3 bucket under a prefix.
pub struct S3Blobs {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

fn store_err(e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound,
        other => BlobError::Store(other.to_string()),
    }
}

/// A client of the whole of `bucket` configured from the `AWS_*` environment (the server's
/// store and the tests that look into the bucket share it).
pub fn bucket_from_env(bucket: &str) -> Result<Arc<dyn ObjectStore>, BlobError> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        builder = builder
            .with_allow_http(endpoint.starts_with("http://"))
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    Ok(Arc::new(builder.build().map_err(store_err)?))
}

impl S3Blobs {
    /// A store for `bucket` configured from the `AWS_*` environment.
    pub fn from_env(bucket: &str, prefix: &str) -> Result<Self, BlobError> {
        Ok(Self {
            store: bucket_from_env(bucket)?,
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{}", self.prefix, key))
        }
    }
}

#[async_trait::async_trait]
impl BlobStore for S3Blobs {
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), BlobError> {
        let mut file = tokio::fs::File::open(path).await?;
        let mut writer = BufWriter::with_capacity(self.store.clone(), self.path(key), PART_BYTES);
        if let Err(e) = tokio::io::copy(&mut file, &mut writer).await {
            let _ = writer.abort().await;
            return Err(e.into());
        }
        writer.shutdown().await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<(u64, BlobStream), BlobError> {
        let res = self.store.get(&self.path(key)).await.map_err(store_err)?;
        let len = res.meta.size;
        let stream = res.into_stream().map_err(std::io::Error::other).boxed();
        Ok((len, stream))
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.delete_path(&self.path(key)).await
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), BlobError> {
        let prefix = self.path(prefix);
        let mut listing = self.store.list(Some(&prefix));
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(store_err)?;
            self.delete_path(&meta.location).await?;
        }
        Ok(())
    }

    async fn check(&self) -> Result<(), BlobError> {
        match self.store.head(&self.path(".health")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err(e)),
        }
    }
}

impl S3Blobs {
    async fn delete_path(&self, path: &ObjectPath) -> Result<(), BlobError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err(e)),
        }
    }
}
