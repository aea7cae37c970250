//! Signed file URLs: `GET /files/{token}` serves an asset's bytes without an auth header until
//! the token expires or the asset is deleted (then 404, like any unknown file).

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use iskra_protocol::ErrorBody;

/// The bytes behind a signed URL.
#[utoipa::path(get, path = "/files/{token}", tag = "assets", params(("token" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
pub async fn file(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Response> {
    let grant = state
        .signer
        .verify(&token, chrono::Utc::now().timestamp())
        .ok_or(ApiError::NotFound("file"))?;
    let row = state
        .store
        .asset(&grant.user, &grant.sha256)
        .await?
        .ok_or(ApiError::NotFound("file"))?;
    crate::routes::assets::stream_asset(&state, &grant.user, &row).await
}
