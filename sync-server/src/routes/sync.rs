//! Canvas sync: `POST /v1/projects/{id}/sync` (push + pull) and `GET …/changes` (pull).

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::services::sync as service;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use iskra_protocol::{ChangesResponse, ErrorBody, SyncRequest, SyncResponse};
use serde::Deserialize;
use uuid::Uuid;

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
    Ok(Json(service::push(&state, auth.id(), id, req).await?))
}

/// Query of `GET /v1/projects/{id}/changes`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// Cursor from an earlier sync; absent = from the beginning.
    #[param(schema_with = iskra_protocol::patterns::schemas::sync_cursor)]
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
    Ok(Json(
        service::pull(&state, auth.id(), id, p.since.as_deref()).await?,
    ))
}
