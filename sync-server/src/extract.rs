//! Request extractors that answer in the docs/api.md error shape: JSON bodies, paths and queries
//! (axum's rejections mapped to 400/413/415/422), the authenticated user (bearer token, user
//! created on first request, refused once the account is deleted, per-user request limit; or an
//! `x-api-key` with its scopes and per-key limit) and the client's hashed IP.

use crate::error::{ApiError, RateLimitInfo};
use crate::state::AppState;
use crate::store::users::UserRow;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, StatusCode};
use iskra_limiter::{Decision, Rule};
use iskra_protocol::ErrorCode;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// A JSON body; malformed JSON is 400, well-formed but invalid data 422, too large 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(data_error(&e.body_text())),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType(
                "expected Content-Type: application/json".into(),
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge {
                    limit: state.config.max_json_bytes as u64,
                })
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// A 422 from serde's message, naming the offending field path when serde gives one.
fn data_error(text: &str) -> ApiError {
    let detail = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(text);
    match detail.split_once(": ") {
        Some((path, msg)) if !path.is_empty() && !path.contains(' ') => ApiError::field(path, msg),
        _ => ApiError::Validation {
            message: detail.to_owned(),
            fields: Default::default(),
        },
    }
}

/// Path parameters; an id of the wrong form is 400.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e: PathRejection| {
                ApiError::BadRequest(format!("invalid path: {}", e.body_text()))
            })
    }
}

/// Query parameters; invalid ones are 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| {
                ApiError::BadRequest(format!("invalid query: {}", e.body_text()))
            })
    }
}

/// The client's address, when the server knows the peer: the peer itself, or — when the peer
/// is a trusted proxy (`ISKRA_TRUSTED_PROXIES`) — the client `X-Forwarded-For` names.
pub fn client_ip(state: &AppState, extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    Some(state.proxies.client(peer, forwarded))
}

/// Turns a refused limiter decision into a 429.
pub fn rate_limited(
    state: &AppState,
    d: &Decision,
    code: ErrorCode,
    tier: Option<&'static str>,
) -> ApiError {
    let now = chrono::Utc::now();
    let w = d.tightest().cloned();
    ApiError::RateLimited(Box::new(RateLimitInfo {
        code,
        window: w.as_ref().map_or("minute", |w| w.window.as_str()),
        limit: w.as_ref().map_or(0, |w| w.limit),
        used: w.as_ref().map_or(0, |w| w.used),
        resets_at: w.as_ref().map_or(now, |w| w.resets_at),
        retry_after_secs: d.retry_after_secs(now),
        tier,
        upgrade_url: state.config.upgrade_url.clone(),
    }))
}

/// Counts one request against `rules` for `key`; a refusal is a 429.
pub async fn check_limit(
    state: &AppState,
    key: &str,
    rules: &[Rule],
    tier: Option<&'static str>,
) -> Result<(), ApiError> {
    if rules.is_empty() {
        return Ok(());
    }
    let decision = state
        .limiter
        .check(key, rules, 1, chrono::Utc::now())
        .await
        .map_err(ApiError::internal)?;
    metrics::counter!("iskra_limiter_decisions_total", "allowed" => decision.allowed.to_string())
        .increment(1);
    if decision.allowed {
        Ok(())
    } else {
        Err(rate_limited(state, &decision, ErrorCode::RateLimited, tier))
    }
}

/// The authenticated user of a request.
#[derive(Debug, Clone)]
pub struct Auth {
    pub user: UserRow,
    /// The API key the request was made with (`x-api-key`); `None` for a bearer token.
    pub key: Option<crate::api_keys::KeyGrant>,
}

impl Auth {
    pub fn id(&self) -> &str {
        &self.user.id
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthenticated("missing Authorization: Bearer token".into()))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::Unauthenticated(
            "expected Authorization: Bearer <token>".into(),
        )),
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        if let Some(auth) = api_key(parts, state).await? {
            parts.extensions.insert(auth.clone());
            return Ok(auth);
        }
        let token = bearer(parts)?;
        let principal = state.auth.verify_bearer(token).await.map_err(|e| {
            tracing::info!(reason = %e, "bearer token refused");
            ApiError::Unauthenticated("invalid or expired token".into())
        })?;
        crate::accounts::refuse_deleted(state, &principal.user_id).await?;
        let user = state
            .store
            .ensure_user(&principal.user_id, principal.email.as_deref())
            .await?;
        let key = format!("user:{}", user.id);
        check_limit(
            state,
            &key,
            &state.config.rate_limits.user.rules(),
            Some(user.tier().as_str()),
        )
        .await?;
        let auth = Auth { user, key: None };
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// The `x-api-key` path of [`Auth`]: a request without `Authorization` that carries a key is
/// authenticated by [`crate::api_keys::authenticate`] for its matched route.
async fn api_key(parts: &Parts, state: &AppState) -> Result<Option<Auth>, ApiError> {
    if parts
        .headers
        .contains_key(axum::http::header::AUTHORIZATION)
    {
        return Ok(None);
    }
    let Some(value) = parts.headers.get(crate::api_keys::HEADER) else {
        return Ok(None);
    };
    let presented = value
        .to_str()
        .map_err(|_| ApiError::Unauthenticated(crate::api_keys::REFUSED.into()))?;
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|p| (&parts.method, p.as_str()));
    let owner = crate::api_keys::authenticate(state, presented, route).await?;
    let key = crate::api_keys::KeyGrant {
        scopes: owner.key.scopes(),
        id: owner.key.id,
    };
    Ok(Some(Auth {
        user: owner.user,
        key: Some(key),
    }))
}

/// The authenticated user when a bearer token is present, else anonymous.
pub struct MaybeAuth(pub Option<Auth>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
            || parts.headers.contains_key(crate::api_keys::HEADER)
        {
            Auth::from_request_parts(parts, state)
                .await
                .map(|a| Self(Some(a)))
        } else {
            Ok(Self(None))
        }
    }
}
