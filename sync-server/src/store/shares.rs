//! Share links (`shares`) and the gallery of generated images.
//!
//! A link is created with one `INSERT … SELECT` from the user's asset row, so a link can only
//! name an asset its owner has; the unique index on `(user_id, sha256)` makes sharing the same
//! asset again find the existing link, and the primary key on `short_id` makes a colliding id
//! insert nothing (the caller draws another). The row cascades with its asset and so with its
//! owner. A link stops answering as soon as its owner's deletion is recorded
//! (`user_deletions`), before the rows are gone. Views and downloads are counted by
//! single-statement increments that also find the link: exact under concurrency, on both
//! backends.

use super::assets::AssetRow;
use super::keyset::{bind_after, page_sql, split_page, Cursor, SortValue};
use super::{now_ms, Store};
use sqlx::FromRow;

/// A share row.
#[derive(Debug, Clone, FromRow)]
pub struct ShareRow {
    pub short_id: String,
    pub user_id: String,
    pub sha256: String,
    pub created_at: i64,
    pub views: i64,
    pub downloads: i64,
    /// Blob key of the preview rendition (`None`: the placeholder, or not made yet).
    pub og_key: Option<String>,
    pub og_mime: Option<String>,
    /// Size of the rendition; `None` until it is made.
    pub og_width: Option<i64>,
    pub og_height: Option<i64>,
}

/// What creating a link did.
#[derive(Debug)]
pub enum ShareOutcome {
    Created(ShareRow),
    /// The asset was shared already: its link.
    Existing(ShareRow),
    /// The user has no such asset.
    NoAsset,
    /// The short id is taken by another link: draw another.
    Collision,
}

/// A generated image of the gallery with its link, if any.
#[derive(Debug, Clone, FromRow)]
pub struct GalleryRow {
    #[sqlx(flatten)]
    pub asset: AssetRow,
    pub short_id: Option<String>,
    pub shared_at: Option<i64>,
    pub views: i64,
    pub downloads: i64,
}

/// Sort orders of the gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GallerySort {
    Created,
    Downloads,
}

impl GallerySort {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Downloads => "downloads",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::Created => "created_at",
            Self::Downloads => "downloads",
        }
    }

    fn key(self, row: &GalleryRow) -> SortValue {
        match self {
            Self::Created => SortValue::Int(row.asset.created_at),
            Self::Downloads => SortValue::Int(row.downloads),
        }
    }
}

/// One page request of a list of this module.
#[derive(Debug, Clone)]
pub struct ListQuery<S> {
    pub sort: S,
    pub descending: bool,
    pub limit: i64,
    pub after: Option<Cursor>,
}

const COLUMNS: &str = "short_id, user_id, sha256, created_at, views, downloads, og_key, og_mime, \
    og_width, og_height";

/// The condition that the link's owner is not being deleted.
const OWNER_LIVE: &str =
    "NOT EXISTS (SELECT 1 FROM user_deletions d WHERE d.user_id = shares.user_id)";

/// The gallery's rows: the user's generated images with their link's counts.
const GALLERY: &str = "SELECT * FROM (SELECT a.user_id AS user_id, a.sha256 AS sha256, \
    a.asset_type AS asset_type, a.mime AS mime, a.size_bytes AS size_bytes, a.width AS width, \
    a.height AS height, a.duration_ms AS duration_ms, a.source AS source, \
    a.created_at AS created_at, a.generation AS generation, s.short_id AS short_id, \
    s.created_at AS shared_at, COALESCE(s.views, 0) AS views, \
    COALESCE(s.downloads, 0) AS downloads \
    FROM assets a LEFT JOIN shares s ON s.user_id = a.user_id AND s.sha256 = a.sha256 \
    WHERE a.source = 'generation' AND a.asset_type = 'image') g";

impl Store {
    /// Links `user`'s asset `sha` under `short_id`, or finds its existing link.
    pub async fn create_share(
        &self,
        user: &str,
        sha: &str,
        short_id: &str,
    ) -> Result<ShareOutcome, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO shares (short_id, user_id, sha256, created_at) \
             SELECT $1, user_id, sha256, $4 FROM assets WHERE user_id = $2 AND sha256 = $3 \
             ON CONFLICT DO NOTHING",
        )
        .bind(short_id)
        .bind(user)
        .bind(sha)
        .bind(now_ms())
        .execute(self.writer())
        .await?
        .rows_affected();
        if let Some(row) = self.share_of_asset(user, sha).await? {
            return Ok(if inserted == 1 {
                ShareOutcome::Created(row)
            } else {
                ShareOutcome::Existing(row)
            });
        }
        Ok(if self.asset(user, sha).await?.is_none() {
            ShareOutcome::NoAsset
        } else {
            ShareOutcome::Collision
        })
    }

    /// The link of `user`'s asset `sha`.
    pub async fn share_of_asset(
        &self,
        user: &str,
        sha: &str,
    ) -> Result<Option<ShareRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM shares WHERE user_id = $1 AND sha256 = $2"
        ))
        .bind(user)
        .bind(sha)
        .fetch_optional(self.writer())
        .await
    }

    /// A live link by its short id.
    pub async fn share(&self, short_id: &str) -> Result<Option<ShareRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM shares WHERE short_id = $1 AND {OWNER_LIVE}"
        ))
        .bind(short_id)
        .fetch_optional(self.pool())
        .await
    }

    /// Revokes the link of `user`'s asset `sha`; `None` when there is none.
    pub async fn revoke_share(
        &self,
        user: &str,
        sha: &str,
    ) -> Result<Option<ShareRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "DELETE FROM shares WHERE user_id = $1 AND sha256 = $2 RETURNING {COLUMNS}"
        ))
        .bind(user)
        .bind(sha)
        .fetch_optional(self.writer())
        .await
    }

    /// Counts a view of a live link and returns it (`None`: no such live link).
    pub async fn count_share_view(&self, short_id: &str) -> Result<Option<ShareRow>, sqlx::Error> {
        self.count_share(short_id, "views").await
    }

    /// Counts a download of a live link and returns it (`None`: no such live link).
    pub async fn count_share_download(
        &self,
        short_id: &str,
    ) -> Result<Option<ShareRow>, sqlx::Error> {
        self.count_share(short_id, "downloads").await
    }

    async fn count_share(
        &self,
        short_id: &str,
        counter: &'static str,
    ) -> Result<Option<ShareRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "UPDATE shares SET {counter} = {counter} + 1 WHERE short_id = $1 AND {OWNER_LIVE} \
             RETURNING {COLUMNS}"
        ))
        .bind(short_id)
        .fetch_optional(self.writer())
        .await
    }

    /// Records the link's preview rendition (`key` `None`: the placeholder).
    pub async fn set_share_rendition(
        &self,
        short_id: &str,
        key: Option<&str>,
        width: i64,
        height: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE shares SET og_key = $1, og_mime = 'image/jpeg', og_width = $2, og_height = $3 \
             WHERE short_id = $4",
        )
        .bind(key)
        .bind(width)
        .bind(height)
        .bind(short_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// One page of the user's links (by creation time) and the next page's cursor.
    pub async fn list_shares(
        &self,
        user: &str,
        q: &ListQuery<()>,
    ) -> Result<(Vec<ShareRow>, Option<Cursor>), sqlx::Error> {
        let select = format!("SELECT {COLUMNS} FROM shares");
        let sql = page_sql(
            &select,
            &[],
            "created_at",
            "short_id",
            q.descending,
            q.after.is_some(),
        );
        let mut query = sqlx::query_as::<_, ShareRow>(&sql).bind(user);
        if let Some(c) = &q.after {
            query = bind_after(query, c);
        }
        let rows = query.bind(q.limit + 1).fetch_all(self.pool()).await?;
        Ok(split_page(rows, q.limit, |r| Cursor {
            s: "created".into(),
            v: SortValue::Int(r.created_at),
            id: r.short_id.clone(),
        }))
    }

    /// One page of the user's generated images and the next page's cursor.
    pub async fn gallery(
        &self,
        user: &str,
        q: &ListQuery<GallerySort>,
    ) -> Result<(Vec<GalleryRow>, Option<Cursor>), sqlx::Error> {
        let sql = page_sql(
            GALLERY,
            &[],
            q.sort.column(),
            "sha256",
            q.descending,
            q.after.is_some(),
        );
        let mut query = sqlx::query_as::<_, GalleryRow>(&sql).bind(user);
        if let Some(c) = &q.after {
            query = bind_after(query, c);
        }
        let rows = query.bind(q.limit + 1).fetch_all(self.pool()).await?;
        let sort = q.sort;
        Ok(split_page(rows, q.limit, |r| Cursor {
            s: sort.as_str().into(),
            v: sort.key(r),
            id: r.asset.sha256.clone(),
        }))
    }
}
