//! Before sign-in (S6): the answer to an anonymous `POST /v1/generations` and the capability
//! route `GET /v1/generations/anonymous/{token}` that reads its result for 24 hours.

use crate::anonymous::{self, Accepted};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::generation;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use iskra_protocol::{AnonymousAccess, AnonymousGeneration, ErrorBody, Generation, NewGeneration};
use std::net::IpAddr;

fn answer(
    state: &AppState,
    generation: Generation,
    token: &str,
    expires_at: i64,
) -> AnonymousGeneration {
    AnonymousGeneration {
        generation,
        anonymous: AnonymousAccess {
            url: format!("{}/v1/generations/anonymous/{token}", state.public_base),
            token: token.to_owned(),
            expires_at: crate::store::rfc3339(expires_at),
        },
    }
}

/// `POST /v1/generations` without credentials (see `routes::generations::submit`): 202 with
/// the job and its capability.
pub async fn submit(state: &AppState, ip: IpAddr, req: &NewGeneration) -> ApiResult<Response> {
    let Accepted {
        row,
        token,
        expires_at,
    } = anonymous::submit(state, ip, req).await?;
    let api = generation::to_api(state, &row).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(answer(state, api, &token, expires_at)),
    )
        .into_response())
}

/// The result of an anonymous generation, by the capability token its 202 carried (no other
/// credentials). Outputs come with signed URLs; an unknown or expired token is 404.
#[utoipa::path(get, path = "/v1/generations/anonymous/{token}", tag = "generations",
    params(("token" = String, Path, description = "the token of the anonymous 202")),
    responses((status = 200, body = AnonymousGeneration), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Json<AnonymousGeneration>> {
    let well_formed = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(ApiError::NotFound("generation"));
    }
    let (row, expires_at) = anonymous::by_token(&state, &token)
        .await?
        .ok_or(ApiError::NotFound("generation"))?;
    let api = generation::to_api(&state, &row).await?;
    Ok(Json(answer(&state, api, &token, expires_at)))
}
