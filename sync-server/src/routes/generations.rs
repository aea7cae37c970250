//! Generations (S7): submit, read, list and cancel jobs; the model catalogue.

use crate::anonymous::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::generation;
use crate::idempotency;
use crate::state::AppState;
use crate::store::generations::GenQuery;
use crate::store::keyset::{page_limit, Cursor, SortValue};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use iskra_protocol::{ErrorBody, Generation, GenerationStatus, ModelList, NewGeneration, Page};
use serde::Deserialize;
use uuid::Uuid;

/// The configured model catalogue.
#[utoipa::path(get, path = "/v1/models", tag = "generations", security(("bearer" = [])),
    responses((status = 200, body = ModelList), (status = 401, body = ErrorBody)))]
pub async fn models(State(state): State<AppState>, _auth: Auth) -> Json<ModelList> {
    Json(ModelList {
        items: state
            .config
            .generation
            .models
            .iter()
            .map(|m| m.info())
            .collect(),
    })
}

/// Queues a generation; the job runs in the background and is pushed as `generation.updated`.
/// With a bearer token as the user; without credentials one text-to-image a day per client
/// IP, answered with the Generation plus `anonymous` (`AnonymousGeneration`: the capability to
/// read its result; see docs/api.md "Before sign-in").
#[utoipa::path(post, path = "/v1/generations", tag = "generations", request_body = NewGeneration,
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry returns the first generation")),
    responses((status = 202, body = Generation), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 402, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<NewGeneration>,
) -> ApiResult<Response> {
    let auth = match caller {
        Caller::User(auth) => auth,
        Caller::Anonymous(ip) => return super::anonymous::submit(&state, ip, &req).await,
    };
    let (row, replayed) = generation::submit_once(
        &state,
        &auth.user,
        &headers,
        "POST /v1/generations",
        &req,
        None,
    )
    .await?;
    let api = generation::to_api(&state, &row).await?;
    if replayed {
        return Ok((
            StatusCode::ACCEPTED,
            [(idempotency::REPLAYED_HEADER, "true")],
            Json(api),
        )
            .into_response());
    }
    Ok((StatusCode::ACCEPTED, Json(api)).into_response())
}

/// One generation.
#[utoipa::path(get, path = "/v1/generations/{id}", tag = "generations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Generation), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Generation>> {
    let row = state
        .store
        .generation(auth.id(), &id.to_string())
        .await?
        .ok_or(ApiError::NotFound("generation"))?;
    Ok(Json(generation::to_api(&state, &row).await?))
}

/// Cancels a generation that has not ended (409 once it has).
#[utoipa::path(delete, path = "/v1/generations/{id}", tag = "generations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Generation), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Generation>> {
    let row = generation::cancel(&state, auth.id(), id).await?;
    Ok(Json(generation::to_api(&state, &row).await?))
}

/// Query of `GET /v1/generations`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `queued`, `running`, `completed`, `failed` or `canceled`.
    #[param(value_type = Option<GenerationStatus>)]
    pub status: Option<String>,
    #[serde(rename = "projectId")]
    #[param(rename = "projectId")]
    pub project_id: Option<Uuid>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Sort key of generation cursors.
const SORT: &str = "created";

/// The user's generations, newest first.
#[utoipa::path(get, path = "/v1/generations", tag = "generations", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Generation>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Generation>>> {
    let phases = match p.status.as_deref() {
        None => Vec::new(),
        Some(s) => {
            let status: GenerationStatus = s.parse().map_err(|m| ApiError::field("status", m))?;
            generation::phases_of(status)
        }
    };
    let limit =
        page_limit(p.limit).ok_or_else(|| ApiError::field("limit", "must be between 1 and 100"))?;
    let after = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => match Cursor::decode(raw, SORT) {
            Some(Cursor {
                v: SortValue::Int(at),
                id,
                ..
            }) => Some((at, id)),
            _ => return Err(ApiError::field("cursor", "is not a cursor of this list")),
        },
    };
    let q = GenQuery {
        phases,
        project_id: p.project_id.map(|p| p.to_string()),
        limit: limit + 1,
        after,
    };
    let mut rows = generation::list(&state, auth.id(), &q).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| {
            Cursor {
                s: SORT.into(),
                v: SortValue::Int(r.created_at),
                id: r.id.clone(),
            }
            .encode()
        })
    } else {
        None
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(generation::to_api(&state, row).await?);
    }
    Ok(Json(Page {
        items,
        next_cursor: next,
    }))
}
