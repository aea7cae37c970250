//! Asset library commands (D5): list with sort and filter, delete (frees quota; elements keep
//! the id and show a placeholder), and the storage bar's numbers — from the server's
//! `GET /v1/quota` when signed in (the engine keeps the last answer for offline), else counted
//! from the local cache against the engine's signed-out limits (`iskra_engine::quota`).

use super::{blocking, Shared};
use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use iskra_engine::store::assets::AssetRecord;
use iskra_engine::sync::ApiClient;
use iskra_protocol::{Asset, AssetGeneration, AssetSource, AssetType, Quota, StorageQuota, Tier};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;
use tauri::State;

use super::projects::SortOrder;

/// How long the storage bar waits for the server before counting locally.
const QUOTA_TIMEOUT: Duration = Duration::from_secs(5);

/// `list_assets` query.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetQuery {
    #[serde(default)]
    pub sort: AssetSort,
    #[serde(default)]
    pub order: SortOrder,
    #[serde(default, rename = "type")]
    pub asset_type: Option<AssetType>,
}

/// Sort key of the library.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetSort {
    #[default]
    Created,
    Size,
    Type,
}

/// An asset with what the library shows besides the wire shape.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LibraryAsset {
    #[serde(flatten)]
    pub asset: Asset,
    pub usage_count: u32,
    pub synced: bool,
}

/// `storage_quota`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageInfo {
    pub storage: StorageQuota,
    pub tier: Tier,
    pub upgrade_url: Option<String>,
}

/// The URL the webview loads an asset's bytes from (the `iskra-asset` scheme).
pub fn asset_url(path: &str) -> String {
    if cfg!(any(windows, target_os = "android")) {
        format!("http://{}.localhost/{path}", crate::protocol::SCHEME)
    } else {
        format!("{}://localhost/{path}", crate::protocol::SCHEME)
    }
}

/// The wire shape of a cached asset; `made` says which generation made it, if one did.
fn to_asset(r: AssetRecord, made: Option<AssetGeneration>) -> Asset {
    let kind = if r.mime.starts_with("video/") {
        AssetType::Video
    } else {
        AssetType::Image
    };
    Asset {
        url: asset_url(&format!("full/{}", r.sha256)),
        id: r.sha256,
        asset_type: kind,
        mime_type: r.mime,
        size_bytes: i64::try_from(r.size_bytes).unwrap_or(i64::MAX),
        width: r.width.map_or(0, i64::from),
        height: r.height.map_or(0, i64::from),
        duration_ms: r.duration_ms.and_then(|d| i64::try_from(d).ok()),
        created_at: r.created_at,
        source: if made.is_some() {
            AssetSource::Generation
        } else {
            AssetSource::Upload
        },
        generation: made,
    }
}

/// How many visible elements (all projects) show each asset.
fn usage_counts(s: &AppState) -> CmdResult<HashMap<String, u32>> {
    let mut counts = HashMap::new();
    for p in s.engine.list_projects()? {
        for e in s.engine.open_project(p.id)?.canvas.elements {
            if let Some(a) = e.asset_id {
                *counts.entry(a).or_insert(0) += 1;
            }
        }
    }
    Ok(counts)
}

#[tauri::command]
pub async fn list_assets(
    state: State<'_, Shared>,
    query: AssetQuery,
) -> CmdResult<Vec<LibraryAsset>> {
    blocking(&state, move |s| {
        let counts = usage_counts(s)?;
        let mut made = s.engine.asset_provenance()?;
        let mut list: Vec<LibraryAsset> = s
            .engine
            .assets()?
            .into_iter()
            .map(|r| LibraryAsset {
                usage_count: counts.get(&r.sha256).copied().unwrap_or(0),
                synced: r.uploaded,
                asset: {
                    let m = made.remove(&r.sha256);
                    to_asset(r, m)
                },
            })
            .filter(|a| query.asset_type.is_none_or(|t| a.asset.asset_type == t))
            .collect();
        list.sort_by(|a, b| {
            let (a, b) = (&a.asset, &b.asset);
            match query.sort {
                AssetSort::Created => a.created_at.cmp(&b.created_at),
                AssetSort::Size => a.size_bytes.cmp(&b.size_bytes),
                AssetSort::Type => a.mime_type.cmp(&b.mime_type),
            }
            .then_with(|| a.created_at.cmp(&b.created_at))
        });
        if query.order == SortOrder::Desc {
            list.reverse();
        }
        Ok(list)
    })
    .await
}

#[tauri::command]
pub async fn delete_asset(state: State<'_, Shared>, id: String) -> CmdResult<()> {
    blocking(&state, move |s| {
        if s.engine.asset(&id)?.is_none() {
            return Err(CommandError::NotFound(format!("asset {id} not found")));
        }
        Ok(s.engine.delete_asset(&id)?)
    })
    .await
}

/// `GET /v1/quota` of the signed-in user.
async fn remote_quota(s: &AppState) -> CmdResult<Quota> {
    let token = s.session.access_token().await?;
    let api = ApiClient::new(&s.config.server, &token)?;
    let resp = api
        .send(api.request(reqwest::Method::GET, "/v1/quota"))
        .await?;
    resp.json::<Quota>()
        .await
        .map_err(|e| CommandError::Network(format!("quota answer: {e}")))
}

#[tauri::command]
pub async fn storage_quota(state: State<'_, Shared>) -> CmdResult<StorageInfo> {
    if state.signed_in() {
        match tokio::time::timeout(QUOTA_TIMEOUT, remote_quota(&state)).await {
            Ok(Ok(q)) => {
                let kept = q.clone();
                if let Err(e) = blocking(&state, move |s| Ok(s.engine.cache_quota(&kept)?)).await {
                    tracing::warn!(error = %e, "could not keep the quota for offline");
                }
                return Ok(StorageInfo {
                    storage: q.storage,
                    tier: q.tier,
                    upgrade_url: Some(q.upgrade_url),
                });
            }
            Ok(Err(e)) => {
                tracing::info!(error = %e, "quota from the server failed; showing the last answer")
            }
            Err(_) => tracing::info!("quota from the server timed out; showing the last answer"),
        }
        if let Some(q) = blocking(&state, |s| Ok(s.engine.cached_quota()?)).await? {
            return Ok(StorageInfo {
                storage: q.storage,
                tier: q.tier,
                upgrade_url: Some(q.upgrade_url),
            });
        }
    }
    let tier = state.account().tier().unwrap_or(Tier::Free);
    blocking(&state, move |s| {
        Ok(StorageInfo {
            storage: s.engine.local_storage()?,
            tier,
            upgrade_url: None,
        })
    })
    .await
}
