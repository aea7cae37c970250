//! The asset service: uploads (size and quota pre-checks, streaming receipt and verification,
//! blob write, the room reserved with the row, the blob released when that fails), storing any
//! received file as a user's asset (uploads and generation outputs count the same way), and
//! deletion.
//!
//! The room is reserved by the store's one conditional `UPDATE` in the asset row's
//! transaction (`Store::insert_asset`), so parallel uploads never pass a limit together; the
//! pre-check only spares the transfer of a file that could not fit anyway.

use crate::blobs::asset_key;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::assets::{new_asset_row, AssetRow, InsertOutcome};
use crate::store::users::UserRow;
use crate::upload::{self, Received};
use axum::body::Body;
use iskra_protocol::events::ServerEvent;
use iskra_protocol::AssetSource;

/// A successful upload: the asset, and whether this request created it.
#[derive(Debug)]
pub struct Uploaded {
    pub row: AssetRow,
    pub created: bool,
}

/// What an upload request says about its body.
#[derive(Debug, Clone, Copy)]
pub struct UploadRequest<'a> {
    /// Lower-case hex SHA-256 the body must have.
    pub sha256: &'a str,
    /// `Content-Length`, when given.
    pub declared_len: Option<u64>,
    /// `Content-Type`, when given (checked against the bytes).
    pub claimed_type: Option<&'a str>,
}

/// Uploads `body` as `user`'s asset: 413 above the size limit, 403 when the storage is full
/// (before reading the body, and again atomically when reserving the room), the existing
/// asset when the user already has these bytes.
pub async fn upload(
    state: &AppState,
    user: &UserRow,
    req: UploadRequest<'_>,
    body: Body,
) -> ApiResult<Uploaded> {
    let max = state.config.max_upload_bytes;
    if req.declared_len.is_some_and(|n| n > max) {
        return Err(ApiError::PayloadTooLarge { limit: max });
    }
    if let Some(row) = state.store.asset(&user.id, req.sha256).await? {
        return Ok(Uploaded {
            row,
            created: false,
        });
    }
    let limits = state.config.tiers.get(user.tier());
    let usage = state.store.storage_usage(&user.id, limits).await?;
    if usage.over_limit {
        return Err(ApiError::StorageQuota(Box::new(usage)));
    }
    let received = upload::receive(
        body,
        &state.tmp_dir,
        req.sha256,
        req.claimed_type,
        max,
        state.config.max_image_pixels,
    )
    .await?;
    match store_received(state, &user.id, received, AssetSource::Upload, None).await? {
        InsertOutcome::Created(row) => {
            metrics::counter!("iskra_uploads_total", "result" => "created").increment(1);
            Ok(Uploaded { row, created: true })
        }
        InsertOutcome::Existing(row) => Ok(Uploaded {
            row,
            created: false,
        }),
        InsertOutcome::QuotaExceeded(quota) => {
            metrics::counter!("iskra_uploads_total", "result" => "quota").increment(1);
            Err(ApiError::StorageQuota(Box::new(quota)))
        }
    }
}

/// Stores `received` for `user`: the blob first, then the row that reserves its room; a
/// refused or failed reservation releases the blob (unless an asset already holds it).
/// Announces a new asset with `asset.created`.
pub async fn store_received(
    state: &AppState,
    user: &str,
    received: Received,
    source: AssetSource,
    generation: Option<String>,
) -> Result<InsertOutcome, ApiError> {
    let limits = state
        .store
        .user(user)
        .await?
        .map(|u| state.config.tiers.get(u.tier()))
        .ok_or(ApiError::NotFound("user"))?;
    let id = received.sha256.clone();
    let mut row = new_asset_row(id.clone(), &received.info, received.size as i64, source);
    row.generation = generation;
    let key = asset_key(user, &id);
    let (tmp_file, tmp_path) = received
        .file
        .keep()
        .map_err(|e| ApiError::internal_in("keeping the received file", e))?;
    drop(tmp_file);
    let stored = state.blobs.put_file(&key, &tmp_path).await;
    let _ = tokio::fs::remove_file(&tmp_path).await;
    stored?;
    let outcome = match state.store.insert_asset(user, &row, limits).await {
        Ok(outcome) => outcome,
        Err(e) => {
            release_blob(state, user, &id, &key).await;
            return Err(e.into());
        }
    };
    match &outcome {
        InsertOutcome::Created(row) => {
            let asset = crate::routes::assets::to_api(state, user, row);
            state
                .events
                .publish(user, ServerEvent::AssetCreated { asset });
        }
        InsertOutcome::Existing(_) => {}
        InsertOutcome::QuotaExceeded(_) => {
            if state.store.asset(user, &id).await?.is_none() {
                state.blobs.delete(&key).await?;
            }
        }
    }
    Ok(outcome)
}

/// Best-effort removal of a blob whose row was never written (the failure that got here is
/// the one reported; this one is only logged).
async fn release_blob(state: &AppState, user: &str, sha256: &str, key: &str) {
    match state.store.asset(user, sha256).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            if let Err(e) = state.blobs.delete(key).await {
                tracing::warn!(error = %e, "unreferenced blob left after a failed insert");
            }
        }
        Err(e) => tracing::warn!(error = %e, "blob kept: its asset row could not be checked"),
    }
}

/// Deletes `user`'s asset, its bytes and its share rendition, and announces it; `NotFound`
/// when there is no such asset.
pub async fn delete(state: &AppState, user: &str, sha256: &str) -> ApiResult<()> {
    state
        .store
        .delete_asset(user, sha256)
        .await?
        .ok_or(ApiError::NotFound("asset"))?;
    state.blobs.delete(&asset_key(user, sha256)).await?;
    crate::sharing::forget_asset(state, user, sha256).await?;
    state.events.publish(
        user,
        ServerEvent::AssetDeleted {
            asset_id: sha256.to_owned(),
        },
    );
    Ok(())
}
