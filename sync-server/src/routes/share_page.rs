//! The public side of sharing (S10), without credentials: `GET /t/{shortId}` (Open Graph
//! page for link-preview crawlers, the viewer for people, who count as views),
//! `GET /t/{shortId}/image` (302 to a fresh signed URL; counts a download),
//! `GET /t/{shortId}/og.jpg` (the preview rendition) and `GET /robots.txt`.
//!
//! A revoked link, or one whose asset or owner is deleted, answers 404 on all of them (the
//! page, to a person's browser, as a small HTML page saying so). Only
//! `GET` counts: a `HEAD` looks without counting.

use crate::blobs::BlobError;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::routes::assets::to_api;
use crate::sharing::headers::{origin, page_csp};
use crate::sharing::page::{render, render_gone, SharePage};
use crate::sharing::{self, crawler, rendition, short_id};
use crate::state::AppState;
use crate::store::assets::AssetRow;
use crate::store::shares::ShareRow;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use iskra_protocol::{AssetGeneration, AssetType, ErrorBody};

/// What `/robots.txt` says: crawlers may read share pages, nothing else.
const ROBOTS: &str = "User-agent: *\nAllow: /t/\nDisallow: /\n";

/// The live link `id` and its asset; counts a view or download first when `count` names it.
async fn lookup(
    state: &AppState,
    id: &str,
    count: Option<&'static str>,
) -> ApiResult<(ShareRow, AssetRow)> {
    if !short_id::is_short_id(id) {
        return Err(ApiError::NotFound("share"));
    }
    let share = match count {
        Some("views") => state.store.count_share_view(id).await?,
        Some(_) => state.store.count_share_download(id).await?,
        None => state.store.share(id).await?,
    }
    .ok_or(ApiError::NotFound("share"))?;
    let asset = state
        .store
        .asset(&share.user_id, &share.sha256)
        .await?
        .ok_or(ApiError::NotFound("share"))?;
    Ok((share, asset))
}

/// The share page: Open Graph tags for crawlers, the viewer for people.
#[utoipa::path(get, path = "/t/{shortId}", tag = "sharing",
    params(("shortId" = String, Path, description = "8-character short id"),
        ("user-agent" = Option<String>, Header, description = "crawlers get the preview page")),
    responses((status = 200, content_type = "text/html", description = "the page"),
        (status = 404, body = ErrorBody, description = "a dead link; a person's browser gets a small HTML page")))]
pub async fn page(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_crawler = crawler::is_crawler(ua);
    let count = (!is_crawler && method == Method::GET).then_some("views");
    let (share, asset) = match lookup(&state, &id, count).await {
        // A person's browser reads why; crawlers and programs get the API's 404.
        Err(ApiError::NotFound(_)) if !is_crawler && crawler::is_browser(ua) => {
            return Ok(html(&state, StatusCode::NOT_FOUND, render_gone()));
        }
        found => found?,
    };
    let og = sharing::ensure_rendition(&state, &share, &asset).await?;
    let made: Option<AssetGeneration> = asset
        .generation
        .as_deref()
        .and_then(|g| serde_json::from_str(g).ok());
    let page_url = sharing::share_url(&state, &share.short_id);
    let og_image = format!("{page_url}/og.jpg");
    let download_url = format!("{page_url}/image");
    let media_url = to_api(&state, &share.user_id, &asset).url;
    let app_url = format!("iskra://share/{}", share.short_id);
    let page = render(
        &SharePage {
            prompt: made.as_ref().map(|m| m.prompt.as_str()),
            video: asset.kind() == AssetType::Video,
            page_url: &page_url,
            og_image: &og_image,
            og_width: og.width,
            og_height: og.height,
            media_url: &media_url,
            mime: &asset.mime,
            download_url: &download_url,
            app_url: &app_url,
        },
        !is_crawler,
    );
    Ok(html(&state, StatusCode::OK, page))
}

/// A share page document with the headers of every one (its CSP, never cached, no referrer,
/// varying by user agent).
fn html(state: &AppState, status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                page_csp(origin(&state.public_base)),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
            (header::VARY, "User-Agent".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// The shared file: a redirect to a fresh signed URL; counts a download.
#[utoipa::path(get, path = "/t/{shortId}/image", tag = "sharing",
    params(("shortId" = String, Path, description = "8-character short id")),
    responses((status = 302, description = "to a signed URL of the file (`Location`)"),
        (status = 404, body = ErrorBody)))]
pub async fn image(
    State(state): State<AppState>,
    method: Method,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let count = (method == Method::GET).then_some("downloads");
    let (share, asset) = lookup(&state, &id, count).await?;
    let url = to_api(&state, &share.user_id, &asset).url;
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, url),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response())
}

/// The preview rendition (`og:image`): a JPEG at most 1,200 px wide.
#[utoipa::path(get, path = "/t/{shortId}/og.jpg", tag = "sharing",
    params(("shortId" = String, Path, description = "8-character short id")),
    responses((status = 200, content_type = "image/jpeg"), (status = 404, body = ErrorBody)))]
pub async fn og_image(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let (share, asset) = lookup(&state, &id, None).await?;
    let og = sharing::ensure_rendition(&state, &share, &asset).await?;
    let headers = |len: usize| {
        [
            (header::CONTENT_TYPE, "image/jpeg".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CACHE_CONTROL, "public, max-age=60".to_owned()),
        ]
    };
    let Some(key) = og.key else {
        let p = rendition::placeholder();
        return Ok((headers(p.bytes.len()), p.bytes.clone()).into_response());
    };
    match state.blobs.get(&key).await {
        Ok((len, stream)) => Ok((
            headers(usize::try_from(len).unwrap_or(0)),
            Body::from_stream(stream),
        )
            .into_response()),
        Err(BlobError::NotFound) => {
            // Lost from storage: made again (the same bytes give the same rendition).
            let og = sharing::make_rendition(&state, &share.user_id, &asset).await?;
            let bytes = match og.key {
                Some(key) => sharing::read_blob(&state, &key).await?,
                None => rendition::placeholder().bytes.clone(),
            };
            Ok((headers(bytes.len()), bytes).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Crawlers may read the share pages.
#[utoipa::path(get, path = "/robots.txt", tag = "sharing",
    responses((status = 200, content_type = "text/plain", description = "robots rules")))]
pub async fn robots() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        ROBOTS,
    )
        .into_response()
}
