//! Local-directory blob store: files under `root/<key>`, written by atomic rename.

use super::{BlobError, BlobStore, BlobStream};
use futures::StreamExt;
use std::path::{Path, PathBuf};
use tokio_util::io::ReaderStream;

/// Blobs in a directory.
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    pub async fn open(root: &Path) -> Result<Self, BlobError> {
        tokio::fs::create_dir_all(root).await?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalBlobs {
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), BlobError> {
        let dest = self.path(key);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        if tokio::fs::rename(path, &dest).await.is_err() {
            // Another filesystem: copy beside the destination, then rename atomically.
            let staging = dest.with_extension("partial");
            tokio::fs::copy(path, &staging).await?;
            tokio::fs::rename(&staging, &dest).await?;
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<(u64, BlobStream), BlobError> {
        let file = match tokio::fs::File::open(self.path(key)).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BlobError::NotFound),
            Err(e) => return Err(e.into()),
        };
        let len = file.metadata().await?.len();
        Ok((len, ReaderStream::with_capacity(file, 64 * 1024).boxed()))
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_dir_all(self.path(prefix)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn check(&self) -> Result<(), BlobError> {
        tokio::fs::metadata(&self.root).await?;
        Ok(())
    }
}
