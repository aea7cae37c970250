//! Sharing and gallery commands (S10), forwarded to the engine's sync client, which owns the
//! calls. The shapes, in camelCase JSON (wire types of `iskra-protocol`):
//!
//! - `share_asset { assetId }` → `ShareLink { shortId, url, createdAt }`: the asset's public
//!   link, uploading it first when it is still only on this device; the same link again.
//! - `unshare_asset { assetId }` → `void`: the link is revoked (nothing to do without one).
//! - `list_shares {}` → `Share[]`: the user's links with their view and download counts.
//! - `gallery { query: { sort: "created"|"downloads", order: "asc"|"desc", cursor, limit } }`
//!   → `Page<GalleryItem>`: one page of the user's generated images.
//! - `fetch_asset { assetId }` → `void`: the asset's bytes in this device's library (downloaded
//!   on first use), so a gallery image can be placed on the canvas.
//! - `take_shared_images {}` → `SharedArrivals { assetIds, errors }`: images of links opened
//!   in Iskra (`iskra://share/{shortId}`, see `lib.rs`) since the last call, now in the
//!   library, for the UI to place on the open canvas; event `shared-images` (`null`) says
//!   there are some. Signed out works too: anyone with a link may download its image.
//!
//! Errors are the usual `{kind, message}`: `auth` signed out (sharing needs an account),
//! `notFound` for an asset the server does not know, `network` when it cannot be reached.

use super::Shared;
use crate::error::{CmdResult, CommandError};
use iskra_engine::sync::sharing::{download_shared, is_short_id, GalleryQuery};
use iskra_engine::sync::{SyncClient, SyncError};
use iskra_protocol::{GalleryItem, Page, Share, ShareLink};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Emitter, Manager, State};

/// Event: images of opened links arrived (`take_shared_images` has them).
pub const EVENT_SHARED_IMAGES: &str = "shared-images";

/// What `take_shared_images` answers.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedArrivals {
    /// Assets now in the library, oldest first.
    pub asset_ids: Vec<String>,
    /// Why a link's image could not be brought in, for people.
    pub errors: Vec<String>,
}

/// Images of opened links the UI has not taken yet (a link may launch the app before the UI
/// listens).
#[derive(Debug, Default)]
pub struct SharedInbox(Mutex<SharedArrivals>);

impl SharedInbox {
    fn push(&self, arrival: Result<String, String>) {
        let mut inbox = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match arrival {
            Ok(id) => inbox.asset_ids.push(id),
            Err(message) => inbox.errors.push(message),
        }
    }

    fn take(&self) -> SharedArrivals {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The link's id of `iskra://share/{shortId}`.
pub fn share_from_link(url: &tauri::Url) -> Option<String> {
    if url.scheme() != crate::DEEP_LINK_SCHEME || url.host_str() != Some("share") {
        return None;
    }
    let id = url.path().trim_matches('/');
    is_short_id(id).then(|| id.to_owned())
}

/// Brings the image of the link `short_id` into the library in the background, then tells
/// the UI.
pub fn open_shared(app: &AppHandle, short_id: String) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(state) = app.try_state::<Shared>().map(|s| Arc::clone(&s)) else {
            return;
        };
        let arrival = download_shared(&state.engine, &state.config.server, &short_id)
            .await
            .map(|asset| asset.sha256)
            .map_err(|e| {
                tracing::info!(error = %e, "shared image not brought in");
                match e {
                    SyncError::Rejected { status: 404, .. } => {
                        "This link no longer works: its owner stopped sharing the image".to_owned()
                    }
                    other => format!("The shared image could not be opened: {other}"),
                }
            });
        if let Some(inbox) = app.try_state::<SharedInbox>() {
            inbox.push(arrival);
        }
        let _ = app.emit(EVENT_SHARED_IMAGES, ());
    });
}

/// The sync client, or why sharing cannot work signed out.
fn client(state: &Shared) -> CmdResult<SyncClient> {
    if !state.signed_in() {
        return Err(CommandError::Auth(
            "Sharing needs an Iskra account: sign in to share images and see your gallery".into(),
        ));
    }
    state.sync_client()
}

/// An asset the server does not know (or another user's) is named plainly.
fn unknown_asset(e: SyncError) -> CommandError {
    match e {
        SyncError::Rejected { status: 404, .. } => CommandError::NotFound(
            "This image is not on the server yet: sync it first, then share it".into(),
        ),
        SyncError::Rejected { status: 400, error } => CommandError::InvalidInput(error.message),
        other => other.into(),
    }
}

#[tauri::command]
pub async fn share_asset(state: State<'_, Shared>, asset_id: String) -> CmdResult<ShareLink> {
    client(&state)?
        .share(asset_id.trim())
        .await
        .map_err(unknown_asset)
}

#[tauri::command]
pub async fn unshare_asset(state: State<'_, Shared>, asset_id: String) -> CmdResult<()> {
    client(&state)?
        .unshare(asset_id.trim())
        .await
        .map(|_| ())
        .map_err(unknown_asset)
}

#[tauri::command]
pub async fn list_shares(state: State<'_, Shared>) -> CmdResult<Vec<Share>> {
    Ok(client(&state)?.shares().await?)
}

#[tauri::command]
pub async fn gallery(
    state: State<'_, Shared>,
    query: GalleryQuery,
) -> CmdResult<Page<GalleryItem>> {
    client(&state)?
        .gallery(&query)
        .await
        .map_err(CommandError::rejected_input)
}

#[tauri::command]
pub async fn fetch_asset(state: State<'_, Shared>, asset_id: String) -> CmdResult<()> {
    client(&state)?
        .fetch_asset(asset_id.trim())
        .await
        .map(|_| ())
        .map_err(unknown_asset)
}

#[tauri::command]
pub fn take_shared_images(inbox: State<'_, SharedInbox>) -> SharedArrivals {
    inbox.take()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_links_name_their_id() {
        let url = |s: &str| tauri::Url::parse(s).unwrap();
        assert_eq!(
            share_from_link(&url("iskra://share/AbC-9_xz")),
            Some("AbC-9_xz".to_owned())
        );
        assert_eq!(
            share_from_link(&url("iskra://share/AbC-9_xz/")),
            Some("AbC-9_xz".to_owned())
        );
        for other in [
            "iskra://share/short",
            "iskra://share/",
            "iskra://project/AbC-9_xz",
            "https://share/AbC-9_xz",
        ] {
            assert_eq!(share_from_link(&url(other)), None, "{other}");
        }
    }

    #[test]
    fn the_inbox_hands_out_each_arrival_once() {
        let inbox = SharedInbox::default();
        inbox.push(Ok("a1".into()));
        inbox.push(Err("gone".into()));
        assert_eq!(
            inbox.take(),
            SharedArrivals {
                asset_ids: vec!["a1".into()],
                errors: vec!["gone".into()]
            }
        );
        assert_eq!(inbox.take(), SharedArrivals::default());
    }
}
