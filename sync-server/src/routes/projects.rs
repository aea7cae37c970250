//! Projects: list, create (client-chosen id, default name, Idempotency-Key), read with canvas,
//! rename, hard delete.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::idempotency;
use crate::services::projects as service;
use crate::state::AppState;
use crate::store::keyset::{page_limit, Cursor};
use crate::store::projects::{ProjectQuery, ProjectSort};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use iskra_protocol::{
    validate_project_name, ErrorBody, NewProject, Page, Project, ProjectDetail, ProjectPatch,
};
use serde::Deserialize;
use uuid::Uuid;

/// Query of `GET /v1/projects`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Case-insensitive search in names.
    pub q: Option<String>,
    /// `updated` (default) or `name`.
    #[param(pattern = "^(updated|name)$")]
    pub sort: Option<String>,
    /// `desc` (default for updated) or `asc` (default for name).
    #[param(pattern = "^(asc|desc)$")]
    pub order: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Parses `order`: `asc`/`desc`, or the sort's natural default.
pub fn descending(order: Option<&str>, default_desc: bool) -> ApiResult<bool> {
    match order {
        None => Ok(default_desc),
        Some("desc") => Ok(true),
        Some("asc") => Ok(false),
        Some(_) => Err(ApiError::field("order", "must be asc or desc")),
    }
}

/// Parses `limit` and `cursor` of a list.
pub fn page(
    limit: Option<i64>,
    cursor: Option<&str>,
    sort: &str,
) -> ApiResult<(i64, Option<Cursor>)> {
    let limit =
        page_limit(limit).ok_or_else(|| ApiError::field("limit", "must be between 1 and 100"))?;
    let after = match cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => Some(
            Cursor::decode(raw, sort)
                .ok_or_else(|| ApiError::field("cursor", "is not a cursor of this list"))?,
        ),
    };
    Ok((limit, after))
}

/// The user's projects.
#[utoipa::path(get, path = "/v1/projects", tag = "projects", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Project>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Project>>> {
    let sort = match p.sort.as_deref() {
        None | Some("updated") => ProjectSort::Updated,
        Some("name") => ProjectSort::Name,
        Some(_) => return Err(ApiError::field("sort", "must be updated or name")),
    };
    let descending = descending(p.order.as_deref(), sort == ProjectSort::Updated)?;
    let (limit, after) = page(p.limit, p.cursor.as_deref(), sort.as_str())?;
    let search = p.q.filter(|q| !q.trim().is_empty());
    let query = ProjectQuery {
        search,
        sort,
        descending,
        limit,
        after,
    };
    let (rows, next) = state.store.list_projects(auth.id(), &query).await?;
    Ok(Json(Page {
        items: rows.iter().map(|r| r.to_api()).collect(),
        next_cursor: next.map(|c| c.encode()),
    }))
}

/// Creates a project; the same client-chosen id again answers 200 with the existing one.
#[utoipa::path(post, path = "/v1/projects", tag = "projects", request_body = NewProject, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first result")),
    responses((status = 201, body = Project), (status = 200, body = Project), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewProject>,
) -> ApiResult<Response> {
    if let Some(name) = &body.name {
        validate_project_name(name).map_err(|m| ApiError::field("name", m))?;
    }
    let fingerprint = serde_json::to_vec(&body).unwrap_or_default();
    idempotency::run(
        &state,
        auth.id(),
        &headers,
        &[b"POST /v1/projects", &fingerprint],
        || async {
            let (row, created) =
                service::create(&state, auth.id(), body.id, body.name.as_deref()).await?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((
                status,
                serde_json::to_value(row.to_api()).map_err(ApiError::internal)?,
            ))
        },
    )
    .await
}

/// A project with its canvas and the sync cursor of that state.
#[utoipa::path(get, path = "/v1/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ProjectDetail), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ProjectDetail>> {
    let row = state
        .store
        .project(auth.id(), id)
        .await?
        .ok_or(ApiError::NotFound("project"))?;
    let canvas = state.store.canvas(auth.id(), id).await?;
    Ok(Json(ProjectDetail {
        project: row.to_api(),
        canvas,
        cursor: row.seq.to_string(),
    }))
}

/// Renames a project.
#[utoipa::path(patch, path = "/v1/projects/{id}", tag = "projects", request_body = ProjectPatch, security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Project), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn rename(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ProjectPatch>,
) -> ApiResult<Json<Project>> {
    validate_project_name(&body.name).map_err(|m| ApiError::field("name", m))?;
    let row = service::rename(&state, auth.id(), id, &body.name).await?;
    Ok(Json(row.to_api()))
}

/// Deletes a project with its canvas and history (hard delete).
#[utoipa::path(delete, path = "/v1/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    service::delete(&state, auth.id(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
