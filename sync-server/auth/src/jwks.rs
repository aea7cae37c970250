//! Cached JWKS (JSON Web Key Set) of RSA signing keys, fetched over HTTP.
//!
//! Keys are loaded lazily on first use and refetched only when a token names an unknown `kid`,
//! at most once per `min_refetch_interval` (counted from the end of the previous fetch, whatever
//! its outcome). A single fetch is in flight at any time: concurrent callers queue on one gate
//! and re-read the cache once the leader is done. The fetch runs in its own task that owns the
//! gate, so a caller that gives up (client disconnect) neither aborts it nor lets a second fetch
//! start beside it. The interval is measured on the verifier's [`Clock`].
//!
//! Entries are read as `jsonwebtoken`'s [`Jwk`] and turned into keys by
//! [`DecodingKey::from_jwk`]; what this module adds is the policy: RSA signature keys with a
//! `kid` only, an RS* `alg` (or none), a modulus of at least 2048 bits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use iskra_clock::Clock;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use crate::AuthError;

/// Time limit for one JWKS request (connect + headers + body).
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest JWKS document accepted, in bytes. Real sets hold a handful of keys (a few KB).
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A; Clerk uses 2048-bit keys).
const MIN_RSA_BITS: usize = 2048;

/// One usable verification key from the set.
pub(crate) struct VerifyKey {
    /// The RSA public key.
    pub(crate) key: DecodingKey,
    /// The JWK's `alg`, when it names one; tokens must then use exactly that algorithm.
    pub(crate) alg: Option<Algorithm>,
}

/// Outcome of the latest completed fetch.
#[derive(Default)]
struct FetchState {
    /// When the latest fetch finished, if any has.
    finished_at: Option<DateTime<Utc>>,
    /// Why the latest fetch failed (`None` after a success).
    last_error: Option<String>,
}

struct Inner {
    url: reqwest::Url,
    http: reqwest::Client,
    min_refetch_interval: TimeDelta,
    clock: Clock,
    keys: RwLock<Arc<HashMap<String, Arc<VerifyKey>>>>,
    gate: Arc<Mutex<FetchState>>,
}

/// Shared, lazily filled cache of the keys published at one JWKS URL.
pub(crate) struct JwksCache {
    inner: Arc<Inner>,
}

impl JwksCache {
    /// A cache for `url`; nothing is fetched until the first lookup.
    /// `clock` measures the interval between fetches.
    pub(crate) fn new(
        url: reqwest::Url,
        http: reqwest::Client,
        min_refetch: Duration,
        clock: Clock,
    ) -> Self {
        let inner = Inner {
            url,
            http,
            min_refetch_interval: TimeDelta::from_std(min_refetch).unwrap_or(TimeDelta::MAX),
            clock,
            keys: RwLock::new(Arc::new(HashMap::new())),
            gate: Arc::new(Mutex::new(FetchState::default())),
        };
        JwksCache {
            inner: Arc::new(inner),
        }
    }

    /// The key with id `kid`, fetching the set when the id is unknown and the rate limit allows.
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<VerifyKey>, AuthError> {
        if let Some(key) = self.inner.cached(kid).await {
            return Ok(key);
        }
        let state = Arc::clone(&self.inner.gate).lock_owned().await;
        // Another caller may have refreshed the set while this one waited at the gate.
        if let Some(key) = self.inner.cached(kid).await {
            return Ok(key);
        }
        let now = self.inner.clock.now();
        let recent = state
            .finished_at
            .is_some_and(|at| now - at < self.inner.min_refetch_interval);
        if recent {
            return Err(match &state.last_error {
                Some(err) => AuthError::KeysUnavailable(err.clone()),
                None => AuthError::invalid("the token's signing key (kid) is not known"),
            });
        }
        let inner = Arc::clone(&self.inner);
        let refresh = tokio::spawn(async move {
            let mut state = state;
            let outcome = inner.fetch().await;
            state.finished_at = Some(inner.clock.now());
            match outcome {
                Ok(keys) => {
                    tracing::info!(url = %inner.url, keys = keys.len(), "JWKS refreshed");
                    *inner.keys.write().await = Arc::new(keys);
                    state.last_error = None;
                    Ok(())
                }
                Err(err) => {
                    tracing::warn!(url = %inner.url, error = %err, "JWKS fetch failed");
                    state.last_error = Some(err.clone());
                    Err(AuthError::KeysUnavailable(err))
                }
            }
        });
        match refresh.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(err),
            Err(_) => {
                return Err(AuthError::KeysUnavailable(
                    "JWKS refresh task failed".into(),
                ))
            }
        }
        self.inner
            .cached(kid)
            .await
            .ok_or_else(|| AuthError::invalid("the token's signing key (kid) is not known"))
    }
}

impl Inner {
    async fn cached(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        self.keys.read().await.get(kid).cloned()
    }

    /// Downloads and parses the set. The error string is safe to log and to return.
    async fn fetch(&self) -> Result<HashMap<String, Arc<VerifyKey>>, String> {
        let mut resp = self
            .http
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("JWKS request failed: {}", e.without_url()))?;
        if !resp.status().is_success() {
            return Err(format!(
                "JWKS endpoint answered HTTP {}",
                resp.status().as_u16()
            ));
        }
        if resp
            .content_length()
            .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
        {
            return Err("JWKS document is too large".into());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("JWKS download failed: {}", e.without_url()))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err("JWKS document is too large".into());
            }
            body.extend_from_slice(&chunk);
        }
        let keys = parse_jwks(&body)?;
        if keys.is_empty() {
            return Err("JWKS holds no usable RSA signing key".into());
        }
        Ok(keys)
    }
}

/// A JWK set as published: each entry is parsed on its own (as `jsonwebtoken`'s [`Jwk`]), so
/// one entry of a kind this crate does not know (a new `kty` or `alg`) does not void the set.
#[derive(Deserialize)]
struct JwkSetDoc {
    keys: Vec<serde_json::Value>,
}

/// Parses a JWK set, keeping RSA signature keys with a `kid`; other entries are skipped.
fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<VerifyKey>>, String> {
    let doc: JwkSetDoc =
        serde_json::from_slice(body).map_err(|_| "JWKS document is not a JSON key set")?;
    let mut keys = HashMap::new();
    for value in doc.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        let Some((kid, key)) = usable_key(jwk) else {
            continue;
        };
        if keys.contains_key(&kid) {
            tracing::warn!(kid = %kid, "JWKS lists a kid twice; keeping the first");
            continue;
        }
        keys.insert(kid, Arc::new(key));
    }
    Ok(keys)
}

/// The verification key of an RSA signature JWK with a `kid` and an RS* (or no) `alg` whose
/// modulus has at least [`MIN_RSA_BITS`] bits; `None` for anything else.
fn usable_key(mut jwk: Jwk) -> Option<(String, VerifyKey)> {
    if !matches!(
        jwk.common.public_key_use,
        None | Some(PublicKeyUse::Signature)
    ) {
        return None;
    }
    let kid = jwk.common.key_id.clone().filter(|k| !k.is_empty())?;
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::RS384) => Some(Algorithm::RS384),
        Some(KeyAlgorithm::RS512) => Some(Algorithm::RS512),
        Some(_) => return None,
    };
    let AlgorithmParameters::RSA(rsa) = &mut jwk.algorithm else {
        return None;
    };
    let (n, bits) = minimal_unsigned(&rsa.n)?;
    let (e, _) = minimal_unsigned(&rsa.e)?;
    if bits < MIN_RSA_BITS || e.is_empty() || e.len() > 8 {
        tracing::warn!(kid = %kid, bits, "JWKS key refused: RSA modulus too small or bad exponent");
        return None;
    }
    rsa.n = URL_SAFE_NO_PAD.encode(n);
    rsa.e = URL_SAFE_NO_PAD.encode(e);
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some((kid, VerifyKey { key, alg }))
}

/// The big-endian integer in base64url `b64` (padded or not) without leading zero bytes, as the
/// RSA verifier requires (some publishers prepend a sign byte), and its size in bits.
fn minimal_unsigned(b64: &str) -> Option<(Vec<u8>, usize)> {
    let bytes = URL_SAFE_NO_PAD.decode(b64.trim_end_matches('=')).ok()?;
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let minimal = bytes[start..].to_vec();
    let bits = minimal.first().map_or(0, |top| {
        (minimal.len() - 1) * 8 + (8 - top.leading_zeros() as usize)
    });
    Some((minimal, bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(extra: serde_json::Value) -> serde_json::Value {
        let mut base = serde_json::json!({
            "kty": "RSA", "kid": "k", "e": "AQAB",
            "n": URL_SAFE_NO_PAD.encode([0xC5u8; 256]),
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        base
    }

    fn parse(keys: Vec<serde_json::Value>) -> HashMap<String, Arc<VerifyKey>> {
        parse_jwks(serde_json::json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn keeps_rsa_signature_keys_only() {
        assert_eq!(parse(vec![jwk(serde_json::json!({}))]).len(), 1);
        assert_eq!(
            parse(vec![jwk(serde_json::json!({"use": "sig", "alg": "RS512"}))]).len(),
            1
        );
        for bad in [
            serde_json::json!({"use": "enc"}),
            serde_json::json!({"kty": "EC"}),
            serde_json::json!({"kty": "oct", "k": "c2VjcmV0"}),
            serde_json::json!({"alg": "PS256"}),
            serde_json::json!({"alg": "HS256"}),
            serde_json::json!({"kid": ""}),
            serde_json::json!({"kid": null}),
            serde_json::json!({"n": URL_SAFE_NO_PAD.encode([0xFFu8; 128])}),
            serde_json::json!({"n": "!!not base64!!"}),
        ] {
            assert!(parse(vec![jwk(bad.clone())]).is_empty(), "accepted {bad}");
        }
    }

    #[test]
    fn duplicate_kid_keeps_first_and_junk_is_refused() {
        let keys = parse(vec![
            jwk(serde_json::json!({"alg": "RS256"})),
            jwk(serde_json::json!({"alg": "RS384"})),
        ]);
        assert_eq!(keys.get("k").and_then(|k| k.alg), Some(Algorithm::RS256));
        assert!(parse_jwks(b"not json").is_err());
        assert!(parse_jwks(b"{\"keys\": 3}").is_err());
    }

    #[test]
    fn padded_base64url_is_tolerated() {
        let padded = jwk(
            serde_json::json!({"n": base64::engine::general_purpose::URL_SAFE.encode([0xC5u8; 256])}),
        );
        assert_eq!(parse(vec![padded]).len(), 1);
    }

    #[test]
    fn modulus_size_ignores_leading_zero_bytes() {
        let mut n = vec![0u8; 3];
        n.extend([0x80u8; 256]);
        assert_eq!(
            parse(vec![jwk(
                serde_json::json!({"n": URL_SAFE_NO_PAD.encode(&n)})
            )])
            .len(),
            1
        );
    }
}
