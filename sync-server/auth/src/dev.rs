//! Dev-mode tokens: HS256 JWTs minted and verified with a local server secret.
//!
//! Only for a server bound to a loopback address (the server refuses dev mode elsewhere). The
//! tokens carry `iss` [`DEV_ISSUER`], `sub` (the user name), optional `email`, `iat` and `exp`.
//! Verification accepts HS256 only, so a Clerk (RS*) token never passes here, and the Clerk
//! verifier refuses HS256, so a dev token never passes there.

use std::time::Duration;

use iskra_clock::Clock;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::{
    check_times, check_token_shape, jwt_error, principal_from_claims, validation, AuthError,
    Principal,
};

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
    /// What "now" is when minting (`iat`, `exp`) and verifying (`exp`, `nbf`).
    clock: Clock,
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
    exp: Option<f64>,
    nbf: Option<f64>,
}

impl DevAuth {
    /// Uses `secret` as the HS256 key. Callers should pass at least 32 random bytes (a shorter
    /// secret works but is logged as weak).
    pub fn new(secret: Vec<u8>) -> Self {
        Self::with_clock(secret, Clock::System)
    }

    /// Like [`Self::new`], reading the time from `clock`.
    pub fn with_clock(secret: Vec<u8>, clock: Clock) -> Self {
        if secret.len() < MIN_SECRET_BYTES {
            tracing::warn!(
                bytes = secret.len(),
                "dev auth secret is shorter than 32 bytes"
            );
        }
        DevAuth {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            clock,
        }
    }

    /// A token for `user_id` valid for `ttl` from now.
    pub fn mint(&self, user_id: &str, email: Option<&str>, ttl: Duration) -> String {
        let now = u64::try_from(self.clock.unix_secs()).unwrap_or(0);
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
        let validation = validation(Algorithm::HS256, DEV_ISSUER);
        let claims = decode::<DevClaims>(token, &self.decoding, &validation)
            .map_err(|e| jwt_error(&e))?
            .claims;
        check_times(
            claims.exp,
            claims.nbf,
            DEV_SKEW_SECS,
            self.clock.unix_secs(),
        )?;
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
    fn expires_once_the_clock_passes_exp_and_skew() {
        let start = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let manual = iskra_clock::ManualClock::new(start);
        let d = DevAuth::with_clock(b"0123456789abcdef0123456789abcdef".to_vec(), manual.clock());
        let token = d.mint("alice", None, Duration::from_secs(60));
        manual.advance(chrono::TimeDelta::seconds(60 + DEV_SKEW_SECS as i64));
        assert_eq!(d.verify(&token).unwrap().user_id, "alice");
        manual.advance(chrono::TimeDelta::seconds(1));
        let err = d.verify(&token).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        assert!(!format!("{:?}", dev()).contains("0123"));
    }
}
