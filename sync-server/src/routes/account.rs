//! Account and quota: `GET /v1/me`, `GET /v1/quota` (also anonymous).

use crate::anonymous::Caller;
use crate::error::ApiResult;
use crate::extract::Auth;
use crate::quota;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use iskra_protocol::{ErrorBody, Me, Quota};

/// The signed-in user.
#[utoipa::path(get, path = "/v1/me", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(auth: Auth) -> Json<Me> {
    Json(Me {
        id: auth.user.id.clone(),
        email: auth.user.email.clone(),
        tier: auth.user.tier(),
        created_at: crate::store::rfc3339(auth.user.created_at),
        billing_status: auth.user.billing_status(),
    })
}

/// Storage and generation quota of the caller (anonymous without a token).
#[utoipa::path(get, path = "/v1/quota", tag = "account",
    responses((status = 200, body = Quota), (status = 401, body = ErrorBody)))]
pub async fn get_quota(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Quota>> {
    let q = match caller {
        Caller::User(auth) => quota::for_user(&state, &auth.user).await?,
        Caller::Anonymous(ip) => quota::anonymous(&state, Some(ip)).await?,
    };
    Ok(Json(q))
}
