//! Asset operations of [`Engine`] (D5): import a file into the local cache (queued for upload),
//! list, delete (queued for deletion on the server) and mark as uploaded.

use super::{Engine, EngineEvent, ASSETS_DIR};
use crate::error::{EngineError, Result};
use crate::media;
use crate::store::assets::{self, AssetRecord};
use crate::store::now_rfc3339;
use crate::store::outbox::{self, OpPayload};
use iskra_protocol::Element;
use rusqlite::TransactionBehavior;
use std::path::{Path, PathBuf};
use uuid::Uuid;

impl Engine {
    /// Copies a file into the asset cache (deduplicated by content hash) and queues its upload.
    /// Returns the record and whether it was new.
    pub fn import_asset(&self, file: &Path) -> Result<(AssetRecord, bool)> {
        let cache = self.data_dir().join(ASSETS_DIR);
        // Hashing and copying happen outside the write lock; only indexing takes it.
        let imported = media::import(file, &cache)?;
        let rel = imported
            .path
            .strip_prefix(self.data_dir())
            .unwrap_or(&imported.path)
            .to_string_lossy()
            .into_owned();
        let now = now_rfc3339();
        let record = AssetRecord {
            sha256: imported.sha256.clone(),
            path: rel,
            mime: imported.mime,
            size_bytes: imported.size_bytes,
            width: imported.width,
            height: imported.height,
            duration_ms: imported.duration_ms,
            created_at: now.clone(),
            uploaded: false,
        };
        let mut db = self.db();
        let tx = db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let new = assets::insert(&tx, &record)?;
        if new {
            let payload = OpPayload::AssetUpload {
                sha256: record.sha256.clone(),
            };
            outbox::enqueue(&tx, Uuid::new_v4(), None, &payload, &now)?;
        }
        let stored = assets::get(&tx, &record.sha256)?.unwrap_or(record);
        tx.commit()?;
        if new {
            db.record(EngineEvent::Assets {
                ids: vec![stored.sha256.clone()],
            });
        }
        drop(db);
        if new {
            self.queued();
        }
        Ok((stored, new))
    }

    /// Adopts a file downloaded from the server as the cached copy of asset `sha256`: the
    /// bytes must hash to `sha256`; the record counts as uploaded (the server has it), so
    /// nothing is queued. Returns the cached record.
    pub fn adopt_downloaded_asset(&self, file: &Path, sha256: &str) -> Result<AssetRecord> {
        if let Some(existing) = self.asset(sha256)? {
            return Ok(existing);
        }
        let cache = self.data_dir().join(ASSETS_DIR);
        let imported = media::import(file, &cache)?;
        if imported.sha256 != sha256 {
            let _ = std::fs::remove_file(&imported.path);
            return Err(EngineError::Invalid(format!(
                "downloaded bytes hash to {}, not to asset {sha256}",
                imported.sha256
            )));
        }
        let rel = imported
            .path
            .strip_prefix(self.data_dir())
            .unwrap_or(&imported.path);
        let record = AssetRecord {
            sha256: imported.sha256.clone(),
            path: rel.to_string_lossy().into_owned(),
            mime: imported.mime,
            size_bytes: imported.size_bytes,
            width: imported.width,
            height: imported.height,
            duration_ms: imported.duration_ms,
            created_at: now_rfc3339(),
            uploaded: true,
        };
        let mut db = self.db();
        if assets::insert(&db.conn, &record)? {
            db.record(EngineEvent::Assets {
                ids: vec![sha256.to_owned()],
            });
        }
        Ok(assets::get(&db.conn, sha256)?.unwrap_or(record))
    }

    /// Imports an image or video file and places it on the canvas centred on (`x`, `y`), as
    /// the app places a dropped file ([`Engine::place_assets`]).
    pub fn add_media(&self, project: Uuid, file: &Path, x: f64, y: f64) -> Result<Element> {
        self.project(project)?;
        let (asset, _) = self.import_asset(file)?;
        let (mut placed, _) = self.place_assets(project, &[asset], x, y)?;
        placed
            .pop()
            .ok_or_else(|| EngineError::Invalid("nothing placed".into()))
    }

    /// Every cached asset, newest first.
    pub fn assets(&self) -> Result<Vec<AssetRecord>> {
        assets::list(&self.db().conn)
    }

    /// One cached asset.
    pub fn asset(&self, sha256: &str) -> Result<Option<AssetRecord>> {
        assets::get(&self.db().conn, sha256)
    }

    /// Absolute path of a cached asset's file.
    pub fn asset_path(&self, record: &AssetRecord) -> PathBuf {
        self.data_dir().join(&record.path)
    }

    /// Deletes an asset from the cache and queues its deletion on the server (which frees
    /// quota). Elements that show it keep their `assetId` and render a placeholder.
    pub fn delete_asset(&self, sha256: &str) -> Result<()> {
        if !iskra_protocol::is_sha256_hex(sha256) {
            return Err(EngineError::Invalid(format!(
                "{sha256:?} is not a SHA-256 hex id"
            )));
        }
        let mut db = self.db();
        let tx = db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let record = assets::get(&tx, sha256)?;
        assets::delete(&tx, sha256)?;
        let payload = OpPayload::AssetDelete {
            sha256: sha256.to_owned(),
        };
        outbox::enqueue(&tx, Uuid::new_v4(), None, &payload, &now_rfc3339())?;
        tx.commit()?;
        db.record(EngineEvent::Assets {
            ids: vec![sha256.to_owned()],
        });
        drop(db);
        self.queued();
        if let Some(record) = record {
            let path = self.asset_path(&record);
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove cached file");
            }
        }
        Ok(())
    }

    /// Records that the server has the asset's bytes.
    pub fn mark_asset_uploaded(&self, sha256: &str) -> Result<()> {
        let mut db = self.db();
        assets::set_uploaded(&db.conn, sha256)?;
        db.record(EngineEvent::Assets {
            ids: vec![sha256.to_owned()],
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::tests::engine;
    use crate::media::tests::PNG_1X1;
    use crate::store::outbox::OpPayload;

    #[test]
    fn import_dedups_queues_one_upload_and_places_element() {
        let (e, dir) = engine();
        let file = dir.path().join("in.png");
        std::fs::write(&file, PNG_1X1).unwrap();
        let p = e.create_project(None).unwrap().id;
        let el = e.add_media(p, &file, 5.0, 6.0).unwrap();
        let (again, new) = e.import_asset(&file).unwrap();
        assert!(!new);
        assert_eq!(el.asset_id.as_deref(), Some(again.sha256.as_str()));
        // Centred on the point, like a dropped file.
        assert_eq!((el.width, el.height, el.x, el.y), (1.0, 1.0, 4.5, 5.5));
        assert!(e.asset_path(&again).exists());
        let uploads = e
            .outbox()
            .unwrap()
            .into_iter()
            .filter(|o| matches!(o.payload, OpPayload::AssetUpload { .. }))
            .count();
        assert_eq!(uploads, 1);
        assert_eq!(e.project(p).unwrap().image_count, 1);
        e.delete_asset(&again.sha256).unwrap();
        assert!(e.assets().unwrap().is_empty());
        assert!(!e.asset_path(&again).exists());
        assert_eq!(
            e.outbox().unwrap().last().unwrap().payload.kind(),
            "asset.delete"
        );
    }
}
