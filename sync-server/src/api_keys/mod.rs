//! API keys (S9): what a key is ([`format`]), which routes a key may call with which scope,
//! the per-key request limits, and authenticating a request that carries `x-api-key`.
//!
//! A presented key is checked for shape and checksum first (no lookup for a mistyped key),
//! then looked up by its SHA-256 on every request, so a revocation holds on the very next
//! request on every replica. Unknown, revoked and malformed keys all answer the same 401.

pub mod format;

use crate::config::Windows;
use crate::error::{ApiError, ApiResult};
use crate::extract::check_limit;
use crate::state::AppState;
use crate::store::api_keys::KeyOwner;
use iskra_protocol::{Tier, SCOPE_GENERATE, SCOPE_READ};
use serde::{Deserialize, Serialize};

/// The request header that carries a key.
pub const HEADER: &str = "x-api-key";

/// What a key's request answers when the key is unknown, revoked or malformed: one message
/// for all three, so the answer says nothing about which.
pub const REFUSED: &str = "invalid API key";

/// Key settings (`[api_keys]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeySettings {
    /// Most active keys a user may have.
    pub max_per_user: i64,
    /// Requests per key, by the owner's tier (all windows must pass).
    pub requests_free: Windows,
    pub requests_pro: Windows,
    pub requests_enterprise: Windows,
}

impl Default for ApiKeySettings {
    fn default() -> Self {
        let per_minute = |minute| Windows {
            minute,
            hour: 0,
            day: 0,
        };
        Self {
            max_per_user: 20,
            requests_free: per_minute(60),
            requests_pro: per_minute(60),
            requests_enterprise: per_minute(60),
        }
    }
}

impl ApiKeySettings {
    /// The request windows of a key whose owner has `tier`.
    pub fn requests(&self, tier: Tier) -> Windows {
        match tier {
            Tier::Free => self.requests_free,
            Tier::Pro => self.requests_pro,
            Tier::Enterprise => self.requests_enterprise,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.max_per_user < 1 {
            return Err("api_keys.max_per_user must be at least 1".into());
        }
        Ok(())
    }
}

/// The scope a route needs when called with a key; `None`: keys cannot call it.
pub fn route_scope(method: &axum::http::Method, path: &str) -> Option<&'static str> {
    use axum::http::Method;
    match (method, path) {
        (&Method::POST, "/v1/images/generate" | "/v1/images/edit") => Some(SCOPE_GENERATE),
        (&Method::GET, "/v1/images/job/{jobId}" | "/v1/images/usage") => Some(SCOPE_READ),
        _ => None,
    }
}

/// Limiter key of a key's requests.
pub fn limit_key(key_id: &str) -> String {
    format!("apikey:{key_id}")
}

/// The UTC day of `clock`'s now, as usage is counted (`YYYY-MM-DD`).
pub fn today(clock: &iskra_clock::Clock) -> String {
    clock.now().format("%Y-%m-%d").to_string()
}

/// The key of a request, when the request was made with one.
#[derive(Debug, Clone)]
pub struct KeyGrant {
    pub id: String,
    pub scopes: Vec<String>,
}

/// Authenticates `presented` for a request to `route` ([`decide`]), then counts the request in
/// the key's usage. Returns the key and its owner.
pub async fn authenticate(
    state: &AppState,
    presented: &str,
    route: Option<(&axum::http::Method, &str)>,
) -> ApiResult<KeyOwner> {
    let owner = decide(state, presented, route).await?;
    state
        .store
        .count_key_request(&owner.key.id, &today(&state.clock))
        .await?;
    Ok(owner)
}

/// Whether a request to `route` (method and matched path template) with key `presented` may
/// go on: 401 for a malformed, unknown or revoked key (or a deleted owner); 403 when the route
/// is not one keys may call or needs a scope the key lacks; 429 past the key's request windows
/// (the request is counted there when it passes).
pub async fn decide(
    state: &AppState,
    presented: &str,
    route: Option<(&axum::http::Method, &str)>,
) -> ApiResult<KeyOwner> {
    let refused = || ApiError::Unauthenticated(REFUSED.into());
    let hash = format::parse(presented.trim()).map_err(|e| {
        tracing::info!(reason = %e, "API key refused");
        refused()
    })?;
    let owner = state.store.api_key_by_hash(&hash.0).await?.ok_or_else(|| {
        tracing::info!("API key refused: unknown, revoked or of a deleted account");
        refused()
    })?;
    let needed = route.and_then(|(m, p)| route_scope(m, p)).ok_or_else(|| {
        ApiError::Forbidden("API keys can call only the images API (/v1/images/…)".into())
    })?;
    if !owner.key.scopes().iter().any(|s| s == needed) {
        return Err(ApiError::Forbidden(format!(
            "this API key does not have the {needed} scope"
        )));
    }
    let tier = owner.user.tier();
    check_limit(
        state,
        &limit_key(&owner.key.id),
        &state.config.api_keys.requests(tier).rules(),
        Some(tier.as_str()),
    )
    .await?;
    Ok(owner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn keys_reach_only_the_images_routes_with_their_scope() {
        assert_eq!(
            route_scope(&Method::POST, "/v1/images/generate"),
            Some(SCOPE_GENERATE)
        );
        assert_eq!(
            route_scope(&Method::POST, "/v1/images/edit"),
            Some(SCOPE_GENERATE)
        );
        assert_eq!(
            route_scope(&Method::GET, "/v1/images/job/{jobId}"),
            Some(SCOPE_READ)
        );
        assert_eq!(
            route_scope(&Method::GET, "/v1/images/usage"),
            Some(SCOPE_READ)
        );
        assert_eq!(route_scope(&Method::GET, "/v1/api-keys"), None);
        assert_eq!(route_scope(&Method::POST, "/v1/generations"), None);
        assert_eq!(route_scope(&Method::GET, "/v1/projects"), None);
    }

    #[test]
    fn the_default_is_60_requests_a_minute_and_20_keys() {
        let s = ApiKeySettings::default();
        assert_eq!(s.max_per_user, 20);
        for tier in [Tier::Free, Tier::Pro, Tier::Enterprise] {
            let rules = s.requests(tier).rules();
            assert_eq!(rules.len(), 1);
            assert_eq!(rules[0].limit, 60);
        }
        assert!(s.validate().is_ok());
    }
}
