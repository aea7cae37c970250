//! Public links and the gallery (S10, docs/api.md "Sharing and the gallery"): sharing an asset
//! (`/t/{shortId}`, the same link when shared again), revoking the link, the user's links with
//! their view and download counts, and the gallery of the user's generated images.
//!
//! A link points at the server's copy of an asset, so an asset still only on this device is
//! uploaded first (the outbox's own upload finds it there later and has nothing left to do).
//! The other way round, [`download_shared`] brings the image of someone's link
//! (`iskra://share/{shortId}`, "Open in Iskra" on the share page) into the library, without
//! credentials: anyone with the link may download it.

use super::api::{error_from, ApiClient, CONNECT_TIMEOUT, REQUEST_TIMEOUT};
use super::{uploads, SyncClient, SyncError};
use crate::store::assets::AssetRecord;
use crate::{Engine, EngineError};
use iskra_protocol::{GalleryItem, Page, Share, ShareLink};
use reqwest::Method;
use serde::{Deserialize, Serialize};

/// Length of a link's id (`/t/{shortId}`).
pub const SHORT_ID_LEN: usize = 8;

/// Whether `s` is a link's id: 8 characters of `A-Za-z0-9_-`.
pub fn is_short_id(s: &str) -> bool {
    s.len() == SHORT_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Downloads the image of the link `short_id` on `server` (`GET /t/{shortId}/image`, which
/// counts a download) into the engine's library; the asset (the same one when it is already
/// there).
pub async fn download_shared(
    engine: &Engine,
    server: &str,
    short_id: &str,
) -> Result<AssetRecord, SyncError> {
    if !is_short_id(short_id) {
        return Err(SyncError::Rejected {
            status: 400,
            error: SyncError::synthetic_detail(400, format!("{short_id:?} is not a share link")),
        });
    }
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("iskra-engine/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SyncError::Network(format!("cannot build HTTP client: {e}")))?;
    let url = format!("{}/t/{short_id}/image", server.trim_end_matches('/'));
    let resp = http.get(url).send().await?;
    if !resp.status().is_success() {
        return Err(error_from(resp).await);
    }
    let bytes = resp.bytes().await?;
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || {
        let dir = engine.data_dir().join(crate::engine::ASSETS_DIR);
        let tmp = dir.join(format!(".shared-{}", uuid::Uuid::new_v4().simple()));
        let written = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(&tmp, &bytes))
            .map_err(|e| EngineError::io("saving a shared image", e));
        let imported = written.and_then(|_| engine.import_asset(&tmp));
        let _ = std::fs::remove_file(&tmp);
        imported.map(|(asset, _)| asset)
    })
    .await
    .map_err(SyncError::from)?
    .map_err(SyncError::from)
}

/// What the gallery is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GallerySort {
    /// When the image was made (the default).
    #[default]
    Created,
    /// Downloads through the image's link.
    Downloads,
}

/// Direction of the gallery's sort.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GalleryOrder {
    Asc,
    /// Newest or most downloaded first (the default).
    #[default]
    Desc,
}

/// One page request of `GET /v1/gallery`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GalleryQuery {
    pub sort: GallerySort,
    pub order: GalleryOrder,
    /// The previous page's `nextCursor`; none for the first page.
    pub cursor: Option<String>,
    /// Page size (the server's default when none).
    pub limit: Option<u32>,
}

impl GalleryQuery {
    /// The query string of the request.
    fn params(&self) -> Vec<(&'static str, String)> {
        let sort = match self.sort {
            GallerySort::Created => "created",
            GallerySort::Downloads => "downloads",
        };
        let order = match self.order {
            GalleryOrder::Asc => "asc",
            GalleryOrder::Desc => "desc",
        };
        let mut params = vec![("sort", sort.to_owned()), ("order", order.to_owned())];
        if let Some(c) = &self.cursor {
            params.push(("cursor", c.clone()));
        }
        if let Some(l) = self.limit {
            params.push(("limit", l.to_string()));
        }
        params
    }
}

impl ApiClient {
    /// `POST /v1/assets/{sha256}/share`: the asset's link (201 new, 200 the existing one).
    pub async fn share_asset(&self, sha256: &str) -> Result<ShareLink, SyncError> {
        self.json(self.request(Method::POST, &format!("/v1/assets/{sha256}/share")))
            .await
    }

    /// `DELETE /v1/assets/{sha256}/share`: true when a link was revoked, false when there was
    /// none.
    pub async fn unshare_asset(&self, sha256: &str) -> Result<bool, SyncError> {
        let req = self.request(Method::DELETE, &format!("/v1/assets/{sha256}/share"));
        match self.send(req.timeout(REQUEST_TIMEOUT)).await {
            Ok(_) => Ok(true),
            Err(SyncError::Rejected { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/shares`, every page: the user's links, newest first, with their counts.
    pub async fn shares(&self) -> Result<Vec<Share>, SyncError> {
        self.list_all("/v1/shares").await
    }

    /// `GET /v1/gallery`: one page of the user's generated images.
    pub async fn gallery(&self, query: &GalleryQuery) -> Result<Page<GalleryItem>, SyncError> {
        let req = self
            .request(Method::GET, "/v1/gallery")
            .query(&query.params());
        self.json(req).await
    }
}

impl SyncClient {
    /// A public link to the asset `sha256`, uploading it first when it is still only on this
    /// device. Sharing an asset again gives the same link.
    pub async fn share(&self, sha256: &str) -> Result<ShareLink, SyncError> {
        self.refresh_session().await?;
        let id = sha256.to_owned();
        let local = self.on_engine(move |e| e.asset(&id)).await?;
        if local.is_some_and(|a| !a.uploaded) {
            uploads::upload(self, &self.api, sha256).await?;
        }
        self.api.share_asset(sha256).await
    }

    /// Revokes the asset's link at once; false when it had none.
    pub async fn unshare(&self, sha256: &str) -> Result<bool, SyncError> {
        self.refresh_session().await?;
        self.api.unshare_asset(sha256).await
    }

    /// The user's links, newest first, with their view and download counts.
    pub async fn shares(&self) -> Result<Vec<Share>, SyncError> {
        self.refresh_session().await?;
        self.api.shares().await
    }

    /// One page of the gallery.
    pub async fn gallery(&self, query: &GalleryQuery) -> Result<Page<GalleryItem>, SyncError> {
        self.refresh_session().await?;
        self.api.gallery(query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_are_eight_url_safe_characters() {
        for ok in ["AbC-9_xz", "00000000", "________"] {
            assert!(is_short_id(ok), "{ok}");
        }
        for bad in [
            "",
            "AbC-9_x",
            "AbC-9_xz0",
            "AbC/9_xz",
            "AbC 9_xz",
            "ÄbC-9_xz",
        ] {
            assert!(!is_short_id(bad), "{bad}");
        }
    }

    /// The query pairs as `name=value` strings.
    fn pairs(q: &GalleryQuery) -> Vec<String> {
        q.params()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    #[test]
    fn gallery_query_defaults_to_newest_first() {
        let q: GalleryQuery = serde_json::from_str("{}").unwrap();
        assert_eq!(pairs(&q), ["sort=created", "order=desc"]);
        let q: GalleryQuery =
            serde_json::from_str(r#"{"sort":"downloads","order":"asc","cursor":"c1","limit":5}"#)
                .unwrap();
        assert_eq!(
            pairs(&q),
            ["sort=downloads", "order=asc", "cursor=c1", "limit=5"]
        );
        let q: GalleryQuery = serde_json::from_str(r#"{"cursor":null,"limit":null}"#).unwrap();
        assert_eq!(q, GalleryQuery::default());
    }
}
