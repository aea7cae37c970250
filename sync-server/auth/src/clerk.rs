//! Verification of Clerk session tokens and Clerk OAuth JWT access tokens (spec S1).
//!
//! Order of checks, cheapest and most security-relevant first:
//! 1. token shape and size;
//! 2. header `alg` against the RSA-only allow-list ([`ALLOWED_ALGS`]) — before any key is chosen,
//!    so a token can never make the verifier treat the RSA public key as an HMAC secret, and
//!    `none` / HS* / ES* / PS* / EdDSA tokens never reach the JWKS;
//! 3. header `kid` → RSA key from the cached JWKS (see [`crate::jwks`]); a key whose JWK names an
//!    `alg` only verifies tokens of exactly that algorithm;
//! 4. signature, `exp` (required) and `nbf` (optional) with `skew_secs` leeway, `iss` equal to
//!    the configured issuer;
//! 5. `azp`, when present, must be one of `authorized_parties` — an empty list accepts any
//!    `azp` (useful for tokens minted for several frontends), a non-empty list is exact-match;
//! 6. `sub` non-empty (the user id), optional string `email`.
//!
//! `aud` is not checked: Clerk session tokens carry none by default, and the spec binds tokens to
//! this server through `iss` and `azp`.

use std::net::IpAddr;
use std::time::Duration;

use iskra_clock::Clock;
use jsonwebtoken::{decode, decode_header, Algorithm};
use serde::Deserialize;

use crate::jwks::JwksCache;
use crate::{
    check_times, check_token_shape, jwt_error, principal_from_claims, validation, AuthError,
    Principal,
};

/// Default clock skew allowed on `exp` and `nbf`, in seconds (spec S1: 5 s).
pub const DEFAULT_SKEW_SECS: u64 = 5;

/// Default minimum time between two JWKS fetches (spec S1: at most once a minute).
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// The only signature algorithms accepted on Clerk tokens.
const ALLOWED_ALGS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];

/// Path of the JWKS below a Clerk issuer URL (used by [`ClerkConfig::new`]).
const WELL_KNOWN_JWKS: &str = "/.well-known/jwks.json";

/// Settings of a [`ClerkVerifier`] (`ISKRA_CLERK_*` in the server configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClerkConfig {
    /// Expected `iss`, compared byte for byte (e.g. `https://clerk.example.com`).
    pub issuer: String,
    /// Where the JWKS is fetched; `https`, or `http` on a loopback host only.
    pub jwks_url: String,
    /// Accepted `azp` values (frontend origins). Empty: any `azp` is accepted.
    pub authorized_parties: Vec<String>,
    /// Leeway on `exp` / `nbf`, in seconds ([`DEFAULT_SKEW_SECS`]).
    pub skew_secs: u64,
    /// Minimum time between JWKS fetches ([`DEFAULT_MIN_REFETCH_INTERVAL`]).
    pub min_refetch_interval: Duration,
}

impl ClerkConfig {
    /// Defaults for `issuer`: JWKS at `{issuer}/.well-known/jwks.json`, no authorized-party
    /// restriction, 5 s skew, 60 s minimum refetch interval.
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        let jwks_url = format!("{}{WELL_KNOWN_JWKS}", issuer.trim_end_matches('/'));
        ClerkConfig {
            issuer,
            jwks_url,
            authorized_parties: Vec::new(),
            skew_secs: DEFAULT_SKEW_SECS,
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
        }
    }
}

/// Verifies Clerk RS256/RS384/RS512 JWTs against the instance's cached JWKS.
pub struct ClerkVerifier {
    cfg: ClerkConfig,
    jwks: JwksCache,
    /// What "now" is for `exp` / `nbf` and the JWKS refetch interval.
    clock: Clock,
}

impl std::fmt::Debug for ClerkVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClerkVerifier")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// Claims read from a Clerk token. Timing claims are typed so that a non-numeric `nbf` is an
/// error rather than silently ignored.
#[derive(Deserialize)]
struct ClerkClaims {
    iss: Option<String>,
    sub: Option<String>,
    azp: Option<String>,
    email: Option<serde_json::Value>,
    exp: Option<f64>,
    nbf: Option<f64>,
}

impl ClerkVerifier {
    /// Checks the configuration; no network access happens until the first [`Self::verify`].
    ///
    /// Refuses an empty issuer and a `jwks_url` that is not `https` (plain `http` is allowed
    /// only for `localhost`, `127.0.0.0/8` and `::1`). Configuration errors come back as
    /// [`AuthError::Invalid`].
    pub fn new(cfg: ClerkConfig, http: reqwest::Client) -> Result<Self, AuthError> {
        Self::with_clock(cfg, http, Clock::System)
    }

    /// Like [`Self::new`], reading the time from `clock`.
    pub fn with_clock(
        cfg: ClerkConfig,
        http: reqwest::Client,
        clock: Clock,
    ) -> Result<Self, AuthError> {
        if cfg.issuer.trim().is_empty() {
            return Err(AuthError::invalid("Clerk issuer is not configured"));
        }
        let url = reqwest::Url::parse(&cfg.jwks_url)
            .map_err(|_| AuthError::invalid("Clerk JWKS URL is not a valid URL"))?;
        match url.scheme() {
            "https" if url.host().is_some() => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(AuthError::invalid(
                    "Clerk JWKS URL must use https (plain http only for loopback hosts)",
                ))
            }
            _ => return Err(AuthError::invalid("Clerk JWKS URL must be an https URL")),
        }
        let jwks = JwksCache::new(url, http, cfg.min_refetch_interval, clock.clone());
        Ok(ClerkVerifier { cfg, jwks, clock })
    }

    /// Verifies `token` (without the `Bearer ` prefix) and returns its subject.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        check_token_shape(token)?;
        let header = decode_header(token).map_err(|_| {
            AuthError::invalid("the token header is malformed or names no known alg")
        })?;
        if !ALLOWED_ALGS.contains(&header.alg) {
            return Err(AuthError::invalid("the token algorithm is not accepted"));
        }
        let alg = header.alg;
        let kid = header
            .kid
            .filter(|k| !k.is_empty())
            .ok_or_else(|| AuthError::invalid("the token names no signing key (kid)"))?;
        let key = self.jwks.key(&kid).await?;
        if key.alg.is_some_and(|key_alg| key_alg != alg) {
            return Err(AuthError::invalid(
                "the token algorithm does not match its signing key",
            ));
        }

        let validation = validation(alg, &self.cfg.issuer);
        let claims = decode::<ClerkClaims>(token, &key.key, &validation)
            .map_err(|e| jwt_error(&e))?
            .claims;
        check_times(
            claims.exp,
            claims.nbf,
            self.cfg.skew_secs,
            self.clock.unix_secs(),
        )?;

        // Exact string match (the library would also accept an array containing the issuer).
        if claims.iss.as_deref() != Some(self.cfg.issuer.as_str()) {
            return Err(AuthError::invalid("the token issuer is not accepted"));
        }
        if let Some(azp) = &claims.azp {
            let parties = &self.cfg.authorized_parties;
            if !parties.is_empty() && !parties.iter().any(|p| p == azp) {
                return Err(AuthError::invalid(
                    "the token was issued to an unauthorized party",
                ));
            }
        }
        principal_from_claims(claims.sub, claims.email)
    }
}

/// Whether the URL's host is `localhost`, in `127.0.0.0/8`, or `::1`.
fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> ClerkConfig {
        ClerkConfig {
            jwks_url: url.into(),
            ..ClerkConfig::new("https://clerk.example.com")
        }
    }

    fn accepts(url: &str) -> bool {
        ClerkVerifier::new(cfg(url), reqwest::Client::new()).is_ok()
    }

    #[test]
    fn config_defaults_follow_the_spec() {
        let c = ClerkConfig::new("https://clerk.example.com/");
        assert_eq!(
            c.jwks_url,
            "https://clerk.example.com/.well-known/jwks.json"
        );
        assert_eq!(c.issuer, "https://clerk.example.com/");
        assert_eq!(c.skew_secs, 5);
        assert_eq!(c.min_refetch_interval, Duration::from_secs(60));
        assert!(c.authorized_parties.is_empty());
    }

    #[test]
    fn jwks_url_scheme_rules() {
        assert!(accepts("https://clerk.example.com/.well-known/jwks.json"));
        assert!(accepts("http://127.0.0.1:9/jwks"));
        assert!(accepts("http://127.8.9.10/jwks"));
        assert!(accepts("http://[::1]:8080/jwks"));
        assert!(accepts("http://LOCALHOST/jwks"));
        assert!(!accepts("http://clerk.example.com/jwks"));
        assert!(!accepts("http://10.0.0.1/jwks"));
        assert!(!accepts("http://[::ffff:127.0.0.1]/jwks"));
        assert!(!accepts("http://localhost.evil.com/jwks"));
        assert!(!accepts("ftp://127.0.0.1/jwks"));
        assert!(!accepts("file:///etc/jwks.json"));
        assert!(!accepts("not a url"));
    }

    #[test]
    fn empty_issuer_is_refused() {
        let c = ClerkConfig {
            issuer: " ".into(),
            ..cfg("https://clerk.example.com/jwks")
        };
        assert!(ClerkVerifier::new(c, reqwest::Client::new()).is_err());
    }
}
