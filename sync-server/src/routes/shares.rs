//! The owner's side of sharing (S10): `POST`/`DELETE /v1/assets/{id}/share`, `GET /v1/shares`
//! and the gallery of generated images, `GET /v1/gallery`.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, Auth};
use crate::routes::assets::{sha, to_api};
use crate::routes::projects::{descending, page};
use crate::sharing::{self, short_id};
use crate::state::AppState;
use crate::store::shares::{GallerySort, ListQuery, ShareOutcome};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use iskra_protocol::{AssetGeneration, ErrorBody, GalleryItem, Page, Share, ShareLink};
use serde::Deserialize;

/// Draws of a short id before giving up (a collision is a one-in-2^48 event per draw).
const SHORT_ID_ATTEMPTS: usize = 5;

/// Makes (or finds) the public link of an asset.
#[utoipa::path(post, path = "/v1/assets/{id}/share", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "SHA-256 hex of the asset", pattern = "^[0-9a-f]{64}$")),
    responses((status = 201, body = ShareLink, description = "link created"),
        (status = 200, body = ShareLink, description = "the asset's existing link"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let id = sha(&id)?;
    let user = auth.id();
    for _ in 0..SHORT_ID_ATTEMPTS {
        let (status, row) = match state
            .store
            .create_share(user, &id, &short_id::new())
            .await?
        {
            ShareOutcome::Created(row) => (StatusCode::CREATED, row),
            ShareOutcome::Existing(row) => (StatusCode::OK, row),
            ShareOutcome::NoAsset => return Err(ApiError::NotFound("asset")),
            ShareOutcome::Collision => continue,
        };
        if row.og_width.is_none() {
            if let Some(asset) = state.store.asset(user, &id).await? {
                // Made now so crawlers find it; a failure is retried when it is first needed.
                if let Err(e) = sharing::ensure_rendition(&state, &row, &asset).await {
                    tracing::warn!(error = %e, "preview rendition not made yet");
                }
            }
        }
        return Ok((status, Json(sharing::to_link(&state, &row))).into_response());
    }
    Err(ApiError::internal_msg("no free short id"))
}

/// Revokes the asset's link: the page, the image and the preview answer 404 from now on.
#[utoipa::path(delete, path = "/v1/assets/{id}/share", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "SHA-256 hex of the asset", pattern = "^[0-9a-f]{64}$")),
    responses((status = 204, description = "revoked"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = sha(&id)?;
    state
        .store
        .revoke_share(auth.id(), &id)
        .await?
        .ok_or(ApiError::NotFound("share"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /v1/shares`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SharesParams {
    /// `desc` (default, newest first) or `asc`.
    #[param(pattern = "^(asc|desc)$")]
    pub order: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The user's links with their view and download counts.
#[utoipa::path(get, path = "/v1/shares", tag = "sharing", params(SharesParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Share>), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(p): ApiQuery<SharesParams>,
) -> ApiResult<Json<Page<Share>>> {
    let descending = descending(p.order.as_deref(), true)?;
    let (limit, after) = page(p.limit, p.cursor.as_deref(), "created")?;
    let q = ListQuery {
        sort: (),
        descending,
        limit,
        after,
    };
    let (rows, next) = state.store.list_shares(auth.id(), &q).await?;
    let items = rows
        .iter()
        .map(|r| Share {
            short_id: r.short_id.clone(),
            url: sharing::share_url(&state, &r.short_id),
            created_at: crate::store::rfc3339(r.created_at),
            asset_id: r.sha256.clone(),
            views: r.views,
            downloads: r.downloads,
        })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: next.map(|c| c.encode()),
    }))
}

/// Query of `GET /v1/gallery`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GalleryParams {
    /// `created` (default) or `downloads`.
    #[param(pattern = "^(created|downloads)$")]
    pub sort: Option<String>,
    /// `desc` (default) or `asc`.
    #[param(pattern = "^(asc|desc)$")]
    pub order: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The user's generated images with prompt, size, model, link and counts.
#[utoipa::path(get, path = "/v1/gallery", tag = "sharing", params(GalleryParams), security(("bearer" = [])),
    responses((status = 200, body = Page<GalleryItem>), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn gallery(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(p): ApiQuery<GalleryParams>,
) -> ApiResult<Json<Page<GalleryItem>>> {
    let sort = match p.sort.as_deref() {
        None | Some("created") => GallerySort::Created,
        Some("downloads") => GallerySort::Downloads,
        Some(_) => return Err(ApiError::field("sort", "must be created or downloads")),
    };
    let descending = descending(p.order.as_deref(), true)?;
    let (limit, after) = page(p.limit, p.cursor.as_deref(), sort.as_str())?;
    let q = ListQuery {
        sort,
        descending,
        limit,
        after,
    };
    let (rows, next) = state.store.gallery(auth.id(), &q).await?;
    let items = rows
        .iter()
        .map(|r| {
            let made: Option<AssetGeneration> = r
                .asset
                .generation
                .as_deref()
                .and_then(|g| serde_json::from_str(g).ok());
            let share = match (&r.short_id, r.shared_at) {
                (Some(id), Some(at)) => Some(ShareLink {
                    short_id: id.clone(),
                    url: sharing::share_url(&state, id),
                    created_at: crate::store::rfc3339(at),
                }),
                _ => None,
            };
            GalleryItem {
                asset_id: r.asset.sha256.clone(),
                url: to_api(&state, auth.id(), &r.asset).url,
                prompt: made.as_ref().map(|m| m.prompt.clone()).unwrap_or_default(),
                model: made.map(|m| m.model).unwrap_or_default(),
                size: format!("{}x{}", r.asset.width, r.asset.height),
                mime_type: r.asset.mime.clone(),
                created_at: crate::store::rfc3339(r.asset.created_at),
                share,
                views: r.views,
                downloads: r.downloads,
            }
        })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: next.map(|c| c.encode()),
    }))
}
