//! The project service: creation (idempotent by client-chosen id), rename and hard delete, each
//! announced to the user's other devices (`project.changed`, `project.deleted`).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::projects::ProjectRow;
use iskra_protocol::events::ServerEvent;
use uuid::Uuid;

fn changed(state: &AppState, user: &str, row: &ProjectRow, id: Uuid) {
    state.events.publish(
        user,
        ServerEvent::ProjectChanged {
            project_id: id,
            cursor: row.seq.to_string(),
        },
    );
}

/// Creates `user`'s project `id` (a new id when none); an existing one with that id is
/// answered as it is. Returns the project and whether this call created it.
pub async fn create(
    state: &AppState,
    user: &str,
    id: Option<Uuid>,
    name: Option<&str>,
) -> ApiResult<(ProjectRow, bool)> {
    let id = id.unwrap_or_else(Uuid::new_v4);
    let (row, created) = state.store.create_project(user, id, name).await?;
    if created {
        changed(state, user, &row, id);
    }
    Ok((row, created))
}

/// Renames `user`'s project `id`.
pub async fn rename(state: &AppState, user: &str, id: Uuid, name: &str) -> ApiResult<ProjectRow> {
    let row = state
        .store
        .rename_project(user, id, name)
        .await?
        .ok_or(ApiError::NotFound("project"))?;
    changed(state, user, &row, id);
    Ok(row)
}

/// Deletes `user`'s project `id` with its canvas and history.
pub async fn delete(state: &AppState, user: &str, id: Uuid) -> ApiResult<()> {
    if !state.store.delete_project(user, id).await? {
        return Err(ApiError::NotFound("project"));
    }
    state
        .events
        .publish(user, ServerEvent::ProjectDeleted { project_id: id });
    Ok(())
}
