//! The canvas sync service: a push applied under the project's row lock with what other
//! devices changed since the client's cursor (the merge itself is `iskra_protocol::merge`,
//! applied by `store::canvas`), invalid changes reported per operation, and `project.changed`
//! announced when the cursor moved; and the pull of every change since a cursor.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::canvas::InvalidChange;
use iskra_protocol::events::ServerEvent;
use iskra_protocol::{
    Change, ChangesResponse, ErrorCode, ErrorDetail, RejectedOp, SyncRequest, SyncResponse,
    MAX_CHANGES_PER_SYNC,
};
use uuid::Uuid;

/// Parses an opaque sync cursor (absent or empty = from the beginning).
pub fn parse_cursor(raw: Option<&str>) -> ApiResult<i64> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(0),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::BadRequest("invalid sync cursor".into())),
    }
}

/// The wire form of a change the store did not apply.
fn rejected(invalid: InvalidChange) -> RejectedOp {
    RejectedOp {
        op_id: invalid.op_id,
        error: ErrorDetail::new(ErrorCode::ValidationFailed, invalid.reason),
    }
}

/// Pushes `req`'s changes to `user`'s project and pulls what others changed since its cursor.
pub async fn push(
    state: &AppState,
    user: &str,
    project: Uuid,
    req: SyncRequest,
) -> ApiResult<SyncResponse> {
    if req.changes.len() > MAX_CHANGES_PER_SYNC {
        return Err(ApiError::field(
            "changes",
            format!("at most {MAX_CHANGES_PER_SYNC} changes per request"),
        ));
    }
    let since = parse_cursor(req.since.as_deref())?;
    let out = state
        .store
        .sync_project(user, project, req.client_id, since, &req.changes)
        .await?
        .ok_or(ApiError::NotFound("project"))?;
    metrics::counter!("iskra_sync_changes_total", "result" => "received")
        .increment(req.changes.len() as u64);
    metrics::counter!("iskra_sync_changes_total", "result" => "rejected")
        .increment(out.rejected.len() as u64);
    let cursor = out.cursor.to_string();
    if out.advanced {
        state.events.publish(
            user,
            ServerEvent::ProjectChanged {
                project_id: project,
                cursor: cursor.clone(),
            },
        );
    }
    Ok(SyncResponse {
        cursor,
        changes: out.changes,
        rejected: out.rejected.into_iter().map(rejected).collect(),
    })
}

/// Every change to `user`'s project since the cursor `since`.
pub async fn pull(
    state: &AppState,
    user: &str,
    project: Uuid,
    since: Option<&str>,
) -> ApiResult<ChangesResponse> {
    let since = parse_cursor(since)?;
    let (cursor, changes): (i64, Vec<Change>) = state
        .store
        .changes_since(user, project, since)
        .await?
        .ok_or(ApiError::NotFound("project"))?;
    Ok(ChangesResponse {
        cursor: cursor.to_string(),
        changes,
    })
}
