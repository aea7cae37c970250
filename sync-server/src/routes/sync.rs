//! Canvas sync: `POST /v1/projects/{id}/sync` (push + pull) and `GET …/changes` (pull).

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use iskra_protocol::events::ServerEvent;
use iskra_protocol::{ChangesResponse, ErrorBody, SyncRequest, SyncResponse, MAX_CHANGES_PER_SYNC};
use serde::Deserialize;
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

/// Pushes changes and pulls what other clients changed since `since`.
#[utoipa::path(post, path = "/v1/projects/{id}/sync", tag = "sync", request_body = SyncRequest, security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SyncResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn sync(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<SyncRequest>,
) -> ApiResult<Json<SyncResponse>> {
    if req.changes.len() > MAX_CHANGES_PER_SYNC {
        return Err(ApiError::field(
            "changes",
            format!("at most {MAX_CHANGES_PER_SYNC} changes per request"),
        ));
    }
    let since = parse_cursor(req.since.as_deref())?;
    let out = state
        .store
        .sync_project(auth.id(), id, req.client_id, since, &req.changes)
        .await?
        .ok_or(ApiError::NotFound("project"))?;
    metrics::counter!("iskra_sync_changes_total", "result" => "received")
        .increment(req.changes.len() as u64);
    metrics::counter!("iskra_sync_changes_total", "result" => "rejected")
        .increment(out.rejected.len() as u64);
    let cursor = out.cursor.to_string();
    if out.advanced {
        state.events.publish(
            auth.id(),
            ServerEvent::ProjectChanged {
                project_id: id,
                cursor: cursor.clone(),
            },
        );
    }
    Ok(Json(SyncResponse {
        cursor,
        changes: out.changes,
        rejected: out.rejected,
    }))
}

/// Query of `GET /v1/projects/{id}/changes`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ChangesParams {
    /// Cursor from an earlier sync; absent = from the beginning.
    pub since: Option<String>,
}

/// Every change since a cursor.
#[utoipa::path(get, path = "/v1/projects/{id}/changes", tag = "sync", security(("bearer" = [])),
    params(("id" = Uuid, Path), ChangesParams),
    responses((status = 200, body = ChangesResponse), (status = 404, body = ErrorBody)))]
pub async fn changes(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<ChangesParams>,
) -> ApiResult<Json<ChangesResponse>> {
    let since = parse_cursor(p.since.as_deref())?;
    let (cursor, changes) = state
        .store
        .changes_since(auth.id(), id, since)
        .await?
        .ok_or(ApiError::NotFound("project"))?;
    Ok(Json(ChangesResponse {
        cursor: cursor.to_string(),
        changes,
    }))
}
