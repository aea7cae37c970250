//! Asset rows and the storage quota they count against.
//!
//! Storing an asset reserves its bytes and its image/video slot with one conditional `UPDATE`
//! of the user's counters, in the same transaction as the insert: the check and the increment
//! are one atomic statement, so parallel uploads can never pass a limit together. Deleting an
//! asset gives the room back in the same transaction as the delete.

use super::keyset::{bind_after, page_sql, split_page, Cursor, SortValue};
use super::{now_ms, Store};
use crate::config::TierLimits;
use iskra_protocol::{AssetSource, AssetType, StorageQuota};
use sqlx::FromRow;

/// An asset row.
#[derive(Debug, Clone, FromRow)]
pub struct AssetRow {
    pub sha256: String,
    pub asset_type: String,
    pub mime: String,
    pub size_bytes: i64,
    pub width: i64,
    pub height: i64,
    pub duration_ms: Option<i64>,
    pub source: String,
    pub created_at: i64,
    /// JSON of the generation that made it ([`iskra_protocol::AssetGeneration`]).
    pub generation: Option<String>,
}

impl AssetRow {
    pub fn kind(&self) -> AssetType {
        if self.asset_type == "video" {
            AssetType::Video
        } else {
            AssetType::Image
        }
    }

    pub fn source(&self) -> AssetSource {
        if self.source == "generation" {
            AssetSource::Generation
        } else {
            AssetSource::Upload
        }
    }
}

/// What storing an asset did.
#[derive(Debug)]
pub enum InsertOutcome {
    Created(AssetRow),
    /// The user already had these bytes; nothing was counted.
    Existing(AssetRow),
    /// The user's storage has no room; nothing was stored.
    QuotaExceeded(StorageQuota),
}

/// Sort orders of the asset list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetSort {
    Created,
    Size,
    Type,
}

impl AssetSort {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Size => "size",
            Self::Type => "type",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::Created => "created_at",
            Self::Size => "size_bytes",
            Self::Type => "asset_type",
        }
    }

    fn key(self, row: &AssetRow) -> SortValue {
        match self {
            Self::Created => SortValue::Int(row.created_at),
            Self::Size => SortValue::Int(row.size_bytes),
            Self::Type => SortValue::Text(row.asset_type.clone()),
        }
    }
}

/// One page request of the asset list.
#[derive(Debug, Clone)]
pub struct AssetQuery {
    pub kind: Option<AssetType>,
    pub sort: AssetSort,
    pub descending: bool,
    pub limit: i64,
    pub after: Option<Cursor>,
}

const COLUMNS: &str = "sha256, asset_type, mime, size_bytes, width, height, duration_ms, \
    source, created_at, generation";

/// A limit for SQL comparisons: -1 (unlimited) becomes a number no counter reaches.
fn sql_limit(limit: i64) -> i64 {
    if limit < 0 {
        i64::MAX / 4
    } else {
        limit
    }
}

/// The storage quota object of a user with these counters and limits.
pub fn storage_quota(
    used_bytes: i64,
    images: i64,
    videos: i64,
    limits: TierLimits,
) -> StorageQuota {
    StorageQuota::of(
        [used_bytes, images, videos],
        [limits.bytes, limits.images, limits.videos],
    )
}

impl Store {
    pub async fn asset(&self, user: &str, sha: &str) -> Result<Option<AssetRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM assets WHERE user_id = $1 AND sha256 = $2"
        ))
        .bind(user)
        .bind(sha)
        .fetch_optional(self.pool())
        .await
    }

    /// Stores an asset row if the user has room, reserving the room atomically.
    pub async fn insert_asset(
        &self,
        user: &str,
        row: &AssetRow,
        limits: TierLimits,
    ) -> Result<InsertOutcome, sqlx::Error> {
        if let Some(existing) = self.asset(user, &row.sha256).await? {
            return Ok(InsertOutcome::Existing(existing));
        }
        let (images, videos) = if row.kind() == AssetType::Video {
            (0, 1)
        } else {
            (1, 0)
        };
        let mut tx = self.writer().begin().await?;
        let reserved = sqlx::query(
            "UPDATE users SET used_bytes = used_bytes + $1, image_count = image_count + $2, \
             video_count = video_count + $3 WHERE id = $4 AND used_bytes + $1 <= $5 \
             AND image_count + $2 <= $6 AND video_count + $3 <= $7",
        )
        .bind(row.size_bytes)
        .bind(images)
        .bind(videos)
        .bind(user)
        .bind(sql_limit(limits.bytes))
        .bind(sql_limit(limits.images))
        .bind(sql_limit(limits.videos))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if reserved == 0 {
            tx.rollback().await?;
            let quota = self.storage_usage(user, limits).await?;
            return Ok(InsertOutcome::QuotaExceeded(quota));
        }
        let inserted = sqlx::query(&format!(
            "INSERT INTO assets (user_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (user_id, sha256) DO NOTHING"
        ))
        .bind(user)
        .bind(&row.sha256)
        .bind(&row.asset_type)
        .bind(&row.mime)
        .bind(row.size_bytes)
        .bind(row.width)
        .bind(row.height)
        .bind(row.duration_ms)
        .bind(&row.source)
        .bind(row.created_at)
        .bind(&row.generation)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            let existing = self
                .asset(user, &row.sha256)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?;
            return Ok(InsertOutcome::Existing(existing));
        }
        tx.commit().await?;
        Ok(InsertOutcome::Created(row.clone()))
    }

    /// Deletes an asset and frees its room; `None` when the user has no such asset.
    pub async fn delete_asset(
        &self,
        user: &str,
        sha: &str,
    ) -> Result<Option<AssetRow>, sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        let row: Option<AssetRow> = sqlx::query_as(&format!(
            "DELETE FROM assets WHERE user_id = $1 AND sha256 = $2 RETURNING {COLUMNS}"
        ))
        .bind(user)
        .bind(sha)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (images, videos) = if row.kind() == AssetType::Video {
            (0, 1)
        } else {
            (1, 0)
        };
        sqlx::query(
            "UPDATE users SET used_bytes = used_bytes - $1, image_count = image_count - $2, \
             video_count = video_count - $3 WHERE id = $4",
        )
        .bind(row.size_bytes)
        .bind(images)
        .bind(videos)
        .bind(user)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    /// The user's storage counters against `limits`.
    pub async fn storage_usage(
        &self,
        user: &str,
        limits: TierLimits,
    ) -> Result<StorageQuota, sqlx::Error> {
        let row: Option<(i64, i64, i64)> =
            sqlx::query_as("SELECT used_bytes, image_count, video_count FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(self.pool())
                .await?;
        let (bytes, images, videos) = row.unwrap_or((0, 0, 0));
        Ok(storage_quota(bytes, images, videos, limits))
    }

    /// One page of the user's assets and the cursor of the next page.
    pub async fn list_assets(
        &self,
        user: &str,
        q: &AssetQuery,
    ) -> Result<(Vec<AssetRow>, Option<Cursor>), sqlx::Error> {
        let filters: &[&str] = if q.kind.is_some() {
            &["asset_type = ?"]
        } else {
            &[]
        };
        let select = format!("SELECT {COLUMNS} FROM assets");
        let sql = page_sql(
            &select,
            filters,
            q.sort.column(),
            "sha256",
            q.descending,
            q.after.is_some(),
        );
        let mut query = sqlx::query_as::<_, AssetRow>(&sql).bind(user);
        if let Some(kind) = q.kind {
            query = query.bind(kind.as_str());
        }
        if let Some(c) = &q.after {
            query = bind_after(query, c);
        }
        let rows = query.bind(q.limit + 1).fetch_all(self.pool()).await?;
        let sort = q.sort;
        let (rows, next) = split_page(rows, q.limit, |r| Cursor {
            s: sort.as_str().into(),
            v: sort.key(r),
            id: r.sha256.clone(),
        });
        Ok((rows, next))
    }
}

/// A new asset row stamped now.
pub fn new_asset_row(
    sha256: String,
    info: &iskra_media::MediaInfo,
    size: i64,
    source: AssetSource,
) -> AssetRow {
    AssetRow {
        sha256,
        asset_type: info.asset_type.as_str().to_owned(),
        mime: info.mime.to_owned(),
        size_bytes: size,
        width: i64::from(info.width),
        height: i64::from(info.height),
        duration_ms: info.duration_ms.map(|d| d as i64),
        source: match source {
            AssetSource::Upload => "upload",
            AssetSource::Generation => "generation",
        }
        .to_owned(),
        created_at: now_ms(),
        generation: None,
    }
}
