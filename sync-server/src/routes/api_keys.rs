//! API key management (S9): `POST`/`GET /v1/api-keys` and `DELETE /v1/api-keys/{id}`, with a
//! bearer token only (a key cannot make, list or revoke keys). The key itself is in the
//! creation answer and nowhere else, ever.

use crate::api_keys::{format, today};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::state::AppState;
use crate::store::api_keys::{ApiKeyRow, KeyInsert, NewKeyRow};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use iskra_protocol::{ApiKeyInfo, ApiKeyList, ErrorBody, KeyUsage, NewApiKey, NewApiKeyCreated};
use std::collections::HashMap;
use uuid::Uuid;

/// The API view of a key with its use today.
fn to_api(row: &ApiKeyRow, usage_today: KeyUsage) -> ApiKeyInfo {
    ApiKeyInfo {
        id: Uuid::parse_str(&row.id).unwrap_or_default(),
        name: row.name.clone(),
        prefix: row.prefix.clone(),
        scopes: row.scopes(),
        created_at: crate::store::rfc3339(row.created_at),
        last_used_at: row.last_used_at.map(crate::store::rfc3339),
        usage_today,
    }
}

/// Creates a key; the answer is the only place the key ever appears.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = NewApiKey,
    security(("bearer" = [])),
    responses((status = 201, body = NewApiKeyCreated), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<NewApiKey>,
) -> ApiResult<(StatusCode, Json<NewApiKeyCreated>)> {
    let scopes = req
        .validate()
        .map_err(|(field, msg)| ApiError::field(field, msg))?;
    let key = format::generate();
    let id = Uuid::new_v4().to_string();
    let max = state.config.api_keys.max_per_user;
    let row = NewKeyRow {
        id: &id,
        user_id: auth.id(),
        name: req.name.trim(),
        prefix: &key.prefix,
        hash: &key.hash.0,
        scopes: &scopes,
    };
    match state.store.insert_api_key(&row, max).await? {
        KeyInsert::Created(row) => {
            tracing::info!(key_id = %row.id, prefix = %row.prefix, "API key created");
            Ok((
                StatusCode::CREATED,
                Json(NewApiKeyCreated {
                    key: key.secret,
                    info: to_api(&row, KeyUsage::default()),
                }),
            ))
        }
        KeyInsert::TooMany(n) => Err(ApiError::Conflict(format!(
            "you have {n} API keys, the most allowed is {max}: revoke one first"
        ))),
    }
}

/// The user's active keys (never the keys themselves), with today's use.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", security(("bearer" = [])),
    responses((status = 200, body = ApiKeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<ApiKeyList>> {
    let rows = state.store.api_keys(auth.id()).await?;
    let day = today(&state.clock);
    let usage = crate::routes::images::usage_by_key(&state, auth.id(), None, &day, &day).await?;
    let by_key: HashMap<String, KeyUsage> = usage
        .into_iter()
        .map(|r| (r.key_id.to_string(), r.usage))
        .collect();
    Ok(Json(ApiKeyList {
        items: rows
            .iter()
            .map(|r| to_api(r, by_key.get(&r.id).cloned().unwrap_or_default()))
            .collect(),
    }))
}

/// Revokes a key at once (every replica refuses it from the next request on).
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    if state
        .store
        .revoke_api_key(auth.id(), &id.to_string())
        .await?
    {
        tracing::info!(key_id = %id, "API key revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("API key"))
    }
}
