//! Storage limits as the desktop shows them: the one place the desktop knows tier limits.
//!
//! Signed in, the storage bar shows what the server says (`GET /v1/quota`); the engine keeps
//! the last answer ([`Engine::cache_quota`]) so it still shows it offline. Signed out there is
//! no server: the bar counts the local cache against [`SIGNED_OUT_LIMITS`], the free tier's
//! default limits, defined here once. A limit of `-1` means unlimited, as on the wire.

use crate::error::Result;
use crate::store::assets::AssetRecord;
use crate::store::settings;
use crate::Engine;
use iskra_protocol::{Quota, StorageQuota};

/// Storage limits of one tier: bytes, images and videos; `-1` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageLimits {
    pub bytes: i64,
    pub images: i64,
    pub videos: i64,
}

/// The free tier's default limits (500 MiB, 100 images, 20 videos): what the bar counts
/// against while signed out, or signed in before the server ever answered.
pub const SIGNED_OUT_LIMITS: StorageLimits = StorageLimits {
    bytes: 500 * 1024 * 1024,
    images: 100,
    videos: 20,
};

/// The storage bar for `assets` (the local cache) against `limits`.
pub fn storage(assets: &[AssetRecord], limits: StorageLimits) -> StorageQuota {
    let used_bytes = assets
        .iter()
        .map(|a| i64::try_from(a.size_bytes).unwrap_or(i64::MAX))
        .fold(0i64, i64::saturating_add);
    let videos = assets
        .iter()
        .filter(|a| a.mime.starts_with("video/"))
        .count() as i64;
    let images = assets.len() as i64 - videos;
    StorageQuota::of(
        [used_bytes, images, videos],
        [limits.bytes, limits.images, limits.videos],
    )
}

impl Engine {
    /// Keeps the server's last quota answer for offline display.
    pub fn cache_quota(&self, quota: &Quota) -> Result<()> {
        self.set_setting(settings::QUOTA, &serde_json::to_string(quota)?)
    }

    /// The server's last quota answer, if one was kept (and still reads).
    pub fn cached_quota(&self) -> Result<Option<Quota>> {
        Ok(self
            .setting(settings::QUOTA)?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Forgets the kept quota (on sign-out: it was another account's).
    pub fn forget_quota(&self) -> Result<()> {
        self.remove_setting(settings::QUOTA)
    }

    /// The storage bar counted from the local cache against [`SIGNED_OUT_LIMITS`].
    pub fn local_storage(&self) -> Result<StorageQuota> {
        Ok(storage(&self.assets()?, SIGNED_OUT_LIMITS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(mime: &str, size: u64) -> AssetRecord {
        AssetRecord {
            sha256: format!("{mime}{size}"),
            path: String::new(),
            mime: mime.into(),
            size_bytes: size,
            width: None,
            height: None,
            duration_ms: None,
            created_at: String::new(),
            uploaded: false,
        }
    }

    #[test]
    fn unlimited_is_never_reached() {
        let assets: Vec<AssetRecord> = (0..150).map(|i| asset("image/png", i)).collect();
        let unlimited = StorageLimits {
            bytes: -1,
            images: -1,
            videos: -1,
        };
        let s = storage(&assets, unlimited);
        assert_eq!((s.images, s.videos, s.used_bytes), (150, 0, 149 * 150 / 2));
        assert!(!s.over_limit);
        let s = storage(&assets, SIGNED_OUT_LIMITS);
        assert!(s.over_limit, "150 images against 100");
        let two = [asset("video/mp4", 10), asset("image/png", 5)];
        let s = storage(&two, SIGNED_OUT_LIMITS);
        assert_eq!(
            (s.images, s.videos, s.used_bytes, s.over_limit),
            (1, 1, 15, false)
        );
        assert!(StorageQuota::of([0, 0, 0], [0, 1, 1]).over_limit);
        assert!(!StorageQuota::of([i64::MAX, 0, 0], [-1, 1, 1]).over_limit);
    }

    #[test]
    fn the_servers_answer_is_kept_for_offline() {
        let (e, _dir) = crate::engine::tests::engine();
        assert_eq!(e.cached_quota().unwrap(), None);
        let q: Quota = serde_json::from_value(serde_json::json!({
            "tier": "pro", "isAnonymous": false,
            "storage": {"usedBytes": 1, "limitBytes": -1, "images": 1, "imagesLimit": -1,
                        "videos": 0, "videosLimit": -1, "overLimit": false},
            "generation": {"standard": [], "video": []},
            "upgradeUrl": "https://example.com/upgrade"
        }))
        .unwrap();
        e.cache_quota(&q).unwrap();
        assert_eq!(e.cached_quota().unwrap(), Some(q));
        e.forget_quota().unwrap();
        assert_eq!(e.cached_quota().unwrap(), None);
    }
}
