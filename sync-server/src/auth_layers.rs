//! Who sent a request, in three layers, each its own extractor with one job. Each caches its
//! result in the request's extensions, so a handler (or a later layer) asking again costs
//! nothing and nothing is verified, created or counted twice:
//!
//! 1. [`Verified`] — the credentials: a bearer token checked by the configured authenticator
//!    (Clerk JWKS or dev tokens), or an `x-api-key` accepted for the matched route by
//!    [`crate::api_keys::authenticate`] (key, owner, scope, the key's own request limit and
//!    usage, in one read). Creates nothing; bad credentials are 401.
//! 2. [`Admitted`] — the user behind them: a token's user is refused once the account is
//!    deleted (401) and created on first sight; a key's owner came with the key.
//! 3. [`Auth`] — the per-user request limit of a token's user (429 past it); a key's requests
//!    were limited per key in layer 1.
//!
//! [`MaybeAuth`] is [`Auth`] when credentials are present, else anonymous.

use crate::api_keys::KeyGrant;
use crate::error::ApiError;
use crate::extract::check_limit;
use crate::state::AppState;
use crate::store::users::UserRow;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use iskra_auth::Principal;

/// Layer 1: what the request's credentials prove.
#[derive(Debug, Clone)]
pub enum Verified {
    /// A bearer token the configured authenticator accepted.
    Token(Principal),
    /// An `x-api-key` accepted for the matched route, with its owner.
    Key { owner: UserRow, key: KeyGrant },
}

impl FromRequestParts<AppState> for Verified {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(verified) = parts.extensions.get::<Verified>() {
            return Ok(verified.clone());
        }
        let verified = match api_key(parts, state).await? {
            Some(verified) => verified,
            None => Verified::Token(verify_bearer(parts, state).await?),
        };
        parts.extensions.insert(verified.clone());
        Ok(verified)
    }
}

/// The token after `Authorization: Bearer`, checked by the configured authenticator.
async fn verify_bearer(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let token = bearer(parts)?;
    state.auth.verify_bearer(token).await.map_err(|e| {
        tracing::info!(reason = %e, "bearer token refused");
        ApiError::Unauthenticated("invalid or expired token".into())
    })
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

/// The `x-api-key` path of [`Verified`]: a request that carries a key is authenticated by
/// [`crate::api_keys::authenticate`] for its matched route; one that also carries
/// `Authorization` is refused (which of the two should act is not for the server to guess).
async fn api_key(parts: &Parts, state: &AppState) -> Result<Option<Verified>, ApiError> {
    let Some(value) = parts.headers.get(crate::api_keys::HEADER) else {
        return Ok(None);
    };
    if parts
        .headers
        .contains_key(axum::http::header::AUTHORIZATION)
    {
        return Err(ApiError::Unauthenticated(
            "send either Authorization or x-api-key, not both".into(),
        ));
    }
    let presented = value
        .to_str()
        .map_err(|_| ApiError::Unauthenticated(crate::api_keys::REFUSED.into()))?;
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|p| (&parts.method, p.as_str()));
    let owner = crate::api_keys::authenticate(state, presented, route).await?;
    let key = KeyGrant {
        scopes: owner.key.scopes(),
        id: owner.key.id,
    };
    Ok(Some(Verified::Key {
        owner: owner.user,
        key,
    }))
}

/// Layer 2: the user of verified credentials, created on first sight (never a deleted one).
#[derive(Debug, Clone)]
pub struct Admitted {
    pub user: UserRow,
    /// The API key the request was made with; `None` for a bearer token.
    pub key: Option<KeyGrant>,
}

impl FromRequestParts<AppState> for Admitted {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(admitted) = parts.extensions.get::<Admitted>() {
            return Ok(admitted.clone());
        }
        let admitted = match Verified::from_request_parts(parts, state).await? {
            Verified::Key { owner, key } => Admitted {
                user: owner,
                key: Some(key),
            },
            Verified::Token(principal) => {
                let email = principal.email.as_deref();
                let user = crate::accounts::admit(state, &principal.user_id, email).await?;
                Admitted { user, key: None }
            }
        };
        parts.extensions.insert(admitted.clone());
        Ok(admitted)
    }
}

/// Layer 3: the authenticated user of a request, within the per-user request limit.
#[derive(Debug, Clone)]
pub struct Auth {
    pub user: UserRow,
    /// The API key the request was made with (`x-api-key`); `None` for a bearer token.
    pub key: Option<KeyGrant>,
}

impl Auth {
    pub fn id(&self) -> &str {
        &self.user.id
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let Admitted { user, key } = Admitted::from_request_parts(parts, state).await?;
        if key.is_none() {
            check_limit(
                state,
                &format!("user:{}", user.id),
                &state.config.rate_limits.user.rules(),
                Some(user.tier().as_str()),
            )
            .await?;
        }
        let auth = Auth { user, key };
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// The authenticated user when credentials (a bearer token or an API key) are present, else
/// anonymous. Credentials that are present are checked as usual: bad ones are 401.
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
