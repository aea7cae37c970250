//! Storing a received file as a user's asset: the blob first, then the row that reserves its
//! room (one atomic statement, see `store::assets`). Used by uploads and by generation outputs,
//! so both count against the same quota in the same way and a refused file leaves no blob.

use crate::blobs::asset_key;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::assets::{new_asset_row, InsertOutcome};
use crate::upload::Received;
use iskra_protocol::events::ServerEvent;
use iskra_protocol::AssetSource;

/// Stores `received` for `user`; announces a new asset with `asset.created`.
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
    let (tmp_file, tmp_path) = received.file.keep().map_err(ApiError::internal)?;
    drop(tmp_file);
    let stored = state.blobs.put_file(&key, &tmp_path).await;
    let _ = tokio::fs::remove_file(&tmp_path).await;
    stored?;
    let outcome = state.store.insert_asset(user, &row, limits).await?;
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
