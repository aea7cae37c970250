//! Assets: `HEAD`/`PUT`/`GET`/`DELETE /v1/assets/{sha256}`, the list and the content route.

use crate::blobs::asset_key;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, Auth};
use crate::routes::projects::{descending, page};
use crate::services::assets::{self, UploadRequest};
use crate::signing::FileGrant;
use crate::state::AppState;
use crate::store::assets::{AssetQuery, AssetRow, AssetSort};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use iskra_protocol::{is_sha256_hex, Asset, AssetType, ErrorBody, Page};
use serde::Deserialize;

/// Parses an asset id (lower- or upper-case hex SHA-256).
pub fn sha(raw: &str) -> ApiResult<String> {
    let s = raw.to_ascii_lowercase();
    if is_sha256_hex(&s) {
        Ok(s)
    } else {
        Err(ApiError::BadRequest(
            "an asset id is the 64-character hex SHA-256 of its bytes".into(),
        ))
    }
}

/// The API view of an asset row, with a fresh signed URL.
pub fn to_api(state: &AppState, user: &str, row: &AssetRow) -> Asset {
    let expires = chrono::Utc::now().timestamp() + state.config.signed_url_ttl_secs as i64;
    let token = state.signer.sign(&FileGrant {
        user: user.to_owned(),
        sha256: row.sha256.clone(),
        expires,
    });
    Asset {
        id: row.sha256.clone(),
        asset_type: row.kind(),
        mime_type: row.mime.clone(),
        size_bytes: row.size_bytes,
        width: row.width,
        height: row.height,
        duration_ms: row.duration_ms,
        created_at: crate::store::rfc3339(row.created_at),
        source: row.source(),
        url: format!("{}/files/{token}", state.public_base),
        generation: row
            .generation
            .as_deref()
            .and_then(|g| serde_json::from_str(g).ok()),
    }
}

/// Whether the user has an asset with this hash (200) or not (404).
#[utoipa::path(head, path = "/v1/assets/{id}", tag = "assets", security(("bearer" = [])),
    params(("id" = String, Path, description = "SHA-256 hex", pattern = "^[0-9a-f]{64}$")), responses((status = 200), (status = 404)))]
pub async fn head(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = sha(&id)?;
    match state.store.asset(auth.id(), &id).await? {
        Some(_) => Ok(StatusCode::OK),
        None => Err(ApiError::NotFound("asset")),
    }
}

/// Uploads the raw bytes of an asset named by their SHA-256.
#[utoipa::path(put, path = "/v1/assets/{id}", tag = "assets", security(("bearer" = [])),
    params(("id" = String, Path, description = "SHA-256 hex of the body", pattern = "^[0-9a-f]{64}$")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Asset), (status = 200, body = Asset), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let id = sha(&id)?;
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let req = UploadRequest {
        sha256: &id,
        declared_len: header(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        claimed_type: header(header::CONTENT_TYPE),
    };
    let up = assets::upload(&state, &auth.user, req, body).await?;
    let status = if up.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(to_api(&state, auth.id(), &up.row))).into_response())
}

/// One asset.
#[utoipa::path(get, path = "/v1/assets/{id}", tag = "assets", security(("bearer" = [])),
    params(("id" = String, Path, description = "SHA-256 hex", pattern = "^[0-9a-f]{64}$")), responses((status = 200, body = Asset), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Asset>> {
    let id = sha(&id)?;
    let row = state
        .store
        .asset(auth.id(), &id)
        .await?
        .ok_or(ApiError::NotFound("asset"))?;
    Ok(Json(to_api(&state, auth.id(), &row)))
}

/// Deletes an asset and frees its room at once.
#[utoipa::path(delete, path = "/v1/assets/{id}", tag = "assets", security(("bearer" = [])),
    params(("id" = String, Path, description = "SHA-256 hex", pattern = "^[0-9a-f]{64}$")), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = sha(&id)?;
    assets::delete(&state, auth.id(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The bytes of an asset.
#[utoipa::path(get, path = "/v1/assets/{id}/content", tag = "assets", security(("bearer" = [])),
    params(("id" = String, Path, description = "SHA-256 hex", pattern = "^[0-9a-f]{64}$")), responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
pub async fn content(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let id = sha(&id)?;
    let row = state
        .store
        .asset(auth.id(), &id)
        .await?
        .ok_or(ApiError::NotFound("asset"))?;
    stream_asset(&state, auth.id(), &row).await
}

/// Streams a stored asset with its type and length.
pub async fn stream_asset(state: &AppState, user: &str, row: &AssetRow) -> ApiResult<Response> {
    let (len, stream) = match state.blobs.get(&asset_key(user, &row.sha256)).await {
        Ok(found) => found,
        Err(crate::blobs::BlobError::NotFound) => return Err(ApiError::NotFound("asset")),
        Err(e) => return Err(e.into()),
    };
    Ok((
        [
            (header::CONTENT_TYPE, row.mime.clone()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CACHE_CONTROL,
                "private, max-age=300, immutable".to_owned(),
            ),
            (header::ETAG, format!("\"{}\"", row.sha256)),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Query of `GET /v1/assets`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `image` or `video`.
    #[serde(rename = "type")]
    #[param(rename = "type", pattern = "^(image|video)$")]
    pub kind: Option<String>,
    /// `created` (default), `size` or `type`.
    #[param(pattern = "^(created|size|type)$")]
    pub sort: Option<String>,
    /// `desc` (default) or `asc`.
    #[param(pattern = "^(asc|desc)$")]
    pub order: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The user's assets, newest first by default.
#[utoipa::path(get, path = "/v1/assets", tag = "assets", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Asset>), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Asset>>> {
    let kind = match p.kind.as_deref() {
        None => None,
        Some("image") => Some(AssetType::Image),
        Some("video") => Some(AssetType::Video),
        Some(_) => return Err(ApiError::field("type", "must be image or video")),
    };
    let sort = match p.sort.as_deref() {
        None | Some("created") => AssetSort::Created,
        Some("size") => AssetSort::Size,
        Some("type") => AssetSort::Type,
        Some(_) => return Err(ApiError::field("sort", "must be created, size or type")),
    };
    let descending = descending(p.order.as_deref(), true)?;
    let (limit, after) = page(p.limit, p.cursor.as_deref(), sort.as_str())?;
    let (rows, next) = state
        .store
        .list_assets(
            auth.id(),
            &AssetQuery {
                kind,
                sort,
                descending,
                limit,
                after,
            },
        )
        .await?;
    let items = rows.iter().map(|r| to_api(&state, auth.id(), r)).collect();
    Ok(Json(Page {
        items,
        next_cursor: next.map(|c| c.encode()),
    }))
}
