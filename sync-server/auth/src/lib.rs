//! Bearer token verification: Clerk JWTs against a cached JWKS, and dev-mode tokens.
//!
//! The server turns `Authorization: Bearer <JWT>` into a [`Principal`] by calling
//! [`Authenticator::verify_bearer`]. Two modes exist (spec S1):
//!
//! - [`Authenticator::Clerk`]: Clerk session tokens and Clerk OAuth JWT access tokens, RS256 /
//!   RS384 / RS512 only, verified against the instance JWKS ([`ClerkVerifier`]).
//! - [`Authenticator::Dev`]: HS256 tokens minted locally with a server secret ([`DevAuth`]), for
//!   loopback-only development servers.
//!
//! Every failure is an [`AuthError`]; both variants map to `401 UNAUTHENTICATED`. Error messages
//! are fixed sentences and never contain any part of the token.

mod clerk;
mod dev;
mod jwks;

pub use clerk::{ClerkConfig, ClerkVerifier, DEFAULT_MIN_REFETCH_INTERVAL, DEFAULT_SKEW_SECS};
pub use dev::{DevAuth, DEV_ISSUER};

use jsonwebtoken::errors::ErrorKind;

/// Longest bearer token (in bytes) that is even looked at. Clerk session tokens must fit in a
/// cookie (about 4 KB); anything far larger is refused before any decoding work.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Longest accepted `sub` claim, in bytes. User ids end up as database keys.
pub const MAX_USER_ID_BYTES: usize = 255;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub` claim (a Clerk user id such as `user_2abc…`, or the dev user name).
    pub user_id: String,
    /// The token's `email` claim, when present and a string.
    pub email: Option<String>,
}

/// Why a bearer token was not accepted. Both variants answer 401; the message is safe to show.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is malformed, badly signed, expired, or its claims are not acceptable.
    #[error("invalid bearer token: {0}")]
    Invalid(String),
    /// The signing keys could not be fetched and no usable cached key exists. Worth logging: it
    /// usually means the JWKS endpoint is down or misconfigured.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

impl AuthError {
    /// Shorthand for [`AuthError::Invalid`] with a fixed message.
    pub(crate) fn invalid(msg: &str) -> Self {
        AuthError::Invalid(msg.to_owned())
    }
}

/// The configured way of verifying bearer tokens.
#[derive(Debug)]
pub enum Authenticator {
    /// Locally minted HS256 tokens (dev mode, loopback only).
    Dev(DevAuth),
    /// Clerk RS256/RS384/RS512 JWTs checked against the instance JWKS.
    Clerk(ClerkVerifier),
}

impl Authenticator {
    /// Verifies the token found after `Bearer ` in the `Authorization` header.
    pub async fn verify_bearer(&self, token: &str) -> Result<Principal, AuthError> {
        let token = token.trim();
        match self {
            Authenticator::Dev(dev) => dev.verify(token),
            Authenticator::Clerk(clerk) => clerk.verify(token).await,
        }
    }
}

/// Cheap structural checks done before any decoding: non-empty, bounded, three dot-separated
/// base64url segments.
pub(crate) fn check_token_shape(token: &str) -> Result<(), AuthError> {
    if token.is_empty() {
        return Err(AuthError::invalid("the token is empty"));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::invalid("the token is too long"));
    }
    let segments = token.split('.').count();
    let charset_ok = token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='));
    if segments != 3 || !charset_ok {
        return Err(AuthError::invalid("the token is not a compact JWS"));
    }
    Ok(())
}

/// Builds the [`Principal`] from already-verified claims, enforcing the `sub` rules.
pub(crate) fn principal_from_claims(
    sub: Option<String>,
    email: Option<serde_json::Value>,
) -> Result<Principal, AuthError> {
    let user_id = sub.unwrap_or_default();
    if user_id.is_empty() {
        return Err(AuthError::invalid("the `sub` claim is missing or empty"));
    }
    if user_id.len() > MAX_USER_ID_BYTES || user_id.chars().any(char::is_control) {
        return Err(AuthError::invalid(
            "the `sub` claim is not an acceptable user id",
        ));
    }
    let email = match email {
        Some(serde_json::Value::String(e)) if !e.is_empty() => Some(e),
        _ => None,
    };
    Ok(Principal { user_id, email })
}

/// Checks `exp` (required) and `nbf` (optional) against `now` (Unix seconds) with `leeway`
/// seconds either way. Done here rather than in `jsonwebtoken` (which reads the system clock) so
/// that the caller's [`iskra_clock::Clock`] decides what "now" is.
pub(crate) fn check_times(
    exp: Option<f64>,
    nbf: Option<f64>,
    leeway: u64,
    now: i64,
) -> Result<(), AuthError> {
    let (now, leeway) = (now as f64, leeway as f64);
    let Some(exp) = exp else {
        return Err(AuthError::invalid(
            "the `exp` claim is missing or not a number",
        ));
    };
    if exp < now - leeway {
        return Err(AuthError::invalid("the token has expired"));
    }
    if nbf.is_some_and(|nbf| nbf > now + leeway) {
        return Err(AuthError::invalid("the token is not valid yet (nbf)"));
    }
    Ok(())
}

/// Validation rules shared by both token kinds: exactly `alg`, issuer `issuer`, `exp`, `iss`
/// and `sub` required, no `aud`. `exp` / `nbf` are left to [`check_times`].
pub(crate) fn validation(alg: jsonwebtoken::Algorithm, issuer: &str) -> jsonwebtoken::Validation {
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation
}

/// Maps a `jsonwebtoken` failure to a fixed, token-free message.
pub(crate) fn jwt_error(err: &jsonwebtoken::errors::Error) -> AuthError {
    let msg = match err.kind() {
        ErrorKind::InvalidSignature => "the signature does not verify",
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)",
        ErrorKind::InvalidIssuer => "the token issuer is not accepted",
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            "the token algorithm is not accepted"
        }
        ErrorKind::MissingRequiredClaim(claim) => {
            return AuthError::Invalid(match claim.as_str() {
                "exp" => "the `exp` claim is missing or not a number".to_owned(),
                "iss" => "the `iss` claim is missing".to_owned(),
                "sub" => "the `sub` claim is missing or empty".to_owned(),
                _ => "a required claim is missing".to_owned(),
            });
        }
        ErrorKind::Json(_) => "the token claims are malformed",
        _ => "the token is malformed",
    };
    AuthError::invalid(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_check_rejects_garbage_without_echoing_it() {
        for bad in ["", "abc", "a.b", "a.b.c.d", "a.b.c d", "a.b.\u{e9}"] {
            let err = check_token_shape(bad).unwrap_err();
            assert!(matches!(err, AuthError::Invalid(_)));
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad));
            }
        }
        assert!(check_token_shape("a.b.c").is_ok());
        assert!(check_token_shape(&"a.".repeat(MAX_TOKEN_BYTES)).is_err());
    }

    #[test]
    fn times_are_checked_with_leeway() {
        let now = 1_000_000;
        assert!(check_times(Some(1_000_000.0), None, 5, now).is_ok());
        assert!(check_times(Some(999_995.0), None, 5, now).is_ok());
        let err = check_times(Some(999_994.0), None, 5, now).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        assert!(check_times(None, None, 5, now).is_err());
        assert!(check_times(Some(2e6), Some(1_000_005.0), 5, now).is_ok());
        let err = check_times(Some(2e6), Some(1_000_006.0), 5, now).unwrap_err();
        assert!(err.to_string().contains("not valid yet"), "{err}");
    }

    #[test]
    fn principal_requires_a_sane_sub() {
        assert!(principal_from_claims(None, None).is_err());
        assert!(principal_from_claims(Some(String::new()), None).is_err());
        assert!(principal_from_claims(Some("a\nb".into()), None).is_err());
        assert!(principal_from_claims(Some("x".repeat(256)), None).is_err());
        let p = principal_from_claims(Some("user_1".into()), Some(serde_json::json!(42))).unwrap();
        assert_eq!(
            p,
            Principal {
                user_id: "user_1".into(),
                email: None
            }
        );
        let p = principal_from_claims(Some("u".into()), Some("a@b.c".into())).unwrap();
        assert_eq!(p.email.as_deref(), Some("a@b.c"));
    }
}
