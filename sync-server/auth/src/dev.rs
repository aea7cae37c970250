//! Dev-mode tokens: HS256 JWTs minted and verified with a local server secret.
//!
//! Only for a server bound to a loopback address (the server refuses dev mode elsewhere). The
//! tokens carry `iss` [`DEV_ISSUER`], `sub` (the user name), optional `email`, `iat` and `exp`.
//! Verification accepts HS256 only, so a Clerk (RS*) token never passes here, and the Clerk
//! verifier refuses HS256, so a dev token never passes there.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{check_token_shape, jwt_error, principal_from_claims, AuthError, Principal};

/// `iss` of every dev token.
pub const DEV_ISSUER: &str = "iskra-dev";

/// Leeway on `exp` / `nbf` for dev tokens, in seconds (same as the Clerk default).
const DEV_SKEW_SECS: u64 = 5;

/// Secrets shorter than this (in bytes) get a warning: HS256 wants at least 256 bits.
const MIN_SECRET_BYTES: usize = 32;

/// Mints and verifies dev-mode tokens.
#[derive(Clone)]
pub struct DevAuth {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for DevAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevAuth { secret: <redacted> }")
    }
}

#[derive(Serialize)]
struct MintClaims<'a> {
    iss: &'static str,
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct DevClaims {
    sub: Option<String>,
    email: Option<serde_json::Value>,
    #[allow(dead_code)]
    exp: Option<f64>,
    #[allow(dead_code)]
    nbf: Option<f64>,
}

impl DevAuth {
    /// Uses `secret` as the HS256 key. Callers should pass at least 32 random bytes (a shorter
    /// secret works but is logged as weak).
    pub fn new(secret: Vec<u8>) -> Self {
        if secret.len() < MIN_SECRET_BYTES {
            tracing::warn!(
                bytes = secret.len(),
                "dev auth secret is shorter than 32 bytes"
            );
        }
        DevAuth {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
        }
    }

    /// A token for `user_id` valid for `ttl` from now.
    pub fn mint(&self, user_id: &str, email: Option<&str>, ttl: Duration) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let claims = MintClaims {
            iss: DEV_ISSUER,
            sub: user_id,
            email,
            iat: now,
            exp: now.saturating_add(ttl.as_secs()),
        };
        // Serializing plain strings and integers with an HMAC key cannot fail; an empty string
        // (never a valid token) is the fallback rather than a panic.
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_else(|err| {
            tracing::error!(error = %err, "minting a dev token failed");
            String::new()
        })
    }

    /// Verifies a dev token: HS256 with this secret, `iss` = [`DEV_ISSUER`], `exp` required,
    /// `nbf` honoured, 5 s skew, non-empty `sub`.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        check_token_shape(token)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = DEV_SKEW_SECS;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_issuer(&[DEV_ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let claims = decode::<DevClaims>(token, &self.decoding, &validation)
            .map_err(|e| jwt_error(&e))?
            .claims;
        principal_from_claims(claims.sub, claims.email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> DevAuth {
        DevAuth::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    #[test]
    fn mint_then_verify() {
        let d = dev();
        let token = d.mint("alice", Some("alice@example.com"), Duration::from_secs(60));
        let p = d.verify(&token).unwrap();
        assert_eq!(p.user_id, "alice");
        assert_eq!(p.email.as_deref(), Some("alice@example.com"));
        let p = d
            .verify(&d.mint("bob", None, Duration::from_secs(60)))
            .unwrap();
        assert_eq!(
            p,
            Principal {
                user_id: "bob".into(),
                email: None
            }
        );
    }

    #[test]
    fn other_secret_and_empty_user_are_refused() {
        let token = dev().mint("alice", None, Duration::from_secs(60));
        let other = DevAuth::new(b"another secret, also 32 bytes!!!".to_vec());
        assert!(matches!(other.verify(&token), Err(AuthError::Invalid(_))));
        let d = dev();
        assert!(d
            .verify(&d.mint("", None, Duration::from_secs(60)))
            .is_err());
    }

    #[test]
    fn expired_beyond_skew_is_refused() {
        let d = dev();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = MintClaims {
            iss: DEV_ISSUER,
            sub: "alice",
            email: None,
            iat: now,
            exp: now - 10,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &d.encoding).unwrap();
        let err = d.verify(&token).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        assert!(!format!("{:?}", dev()).contains("0123"));
    }
}
