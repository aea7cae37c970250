//! Cached JWKS (JSON Web Key Set) of RSA signing keys, fetched over HTTP.
//!
//! Keys are loaded lazily on first use and refetched only when a token names an unknown `kid`,
//! at most once per `min_refetch_interval` (counted from the end of the previous fetch, whatever
//! its outcome). A single fetch is in flight at any time: concurrent callers queue on one gate
//! and re-read the cache once the leader is done. The fetch runs in its own task that owns the
//! gate, so a caller that gives up (client disconnect) neither aborts it nor lets a second fetch
//! start beside it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
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

/// base64url that tolerates (but does not require) `=` padding, as some JWKS publishers pad.
const B64URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

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
    finished_at: Option<Instant>,
    /// Why the latest fetch failed (`None` after a success).
    last_error: Option<String>,
}

struct Inner {
    url: reqwest::Url,
    http: reqwest::Client,
    min_refetch_interval: Duration,
    keys: RwLock<Arc<HashMap<String, Arc<VerifyKey>>>>,
    gate: Arc<Mutex<FetchState>>,
}

/// Shared, lazily filled cache of the keys published at one JWKS URL.
pub(crate) struct JwksCache {
    inner: Arc<Inner>,
}

impl JwksCache {
    /// A cache for `url`; nothing is fetched until the first lookup.
    pub(crate) fn new(url: reqwest::Url, http: reqwest::Client, min_refetch: Duration) -> Self {
        let inner = Inner {
            url,
            http,
            min_refetch_interval: min_refetch,
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
        let recent = state
            .finished_at
            .is_some_and(|at| at.elapsed() < self.inner.min_refetch_interval);
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
            state.finished_at = Some(Instant::now());
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

#[derive(Deserialize)]
struct JwkSetDoc {
    keys: Vec<serde_json::Value>,
}

/// The JWK members this crate looks at; anything else is ignored.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// Parses a JWK set, keeping RSA signature keys with a `kid`; other entries are skipped.
fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<VerifyKey>>, String> {
    let doc: JwkSetDoc =
        serde_json::from_slice(body).map_err(|_| "JWKS document is not a JSON key set")?;
    let mut keys = HashMap::new();
    for value in doc.keys {
        let Ok(jwk) = serde_json::from_value::<RawJwk>(value) else {
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

fn usable_key(jwk: RawJwk) -> Option<(String, VerifyKey)> {
    if jwk.kty != "RSA" || !matches!(jwk.use_.as_deref(), None | Some("sig")) {
        return None;
    }
    let kid = jwk.kid.filter(|k| !k.is_empty())?;
    let alg = match jwk.alg.as_deref() {
        None => None,
        Some("RS256") => Some(Algorithm::RS256),
        Some("RS384") => Some(Algorithm::RS384),
        Some("RS512") => Some(Algorithm::RS512),
        Some(_) => return None,
    };
    let n = B64URL_LENIENT.decode(jwk.n?).ok()?;
    let e = B64URL_LENIENT.decode(jwk.e?).ok()?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    let bits = n.first().map_or(0, |top| {
        (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize)
    });
    if bits < MIN_RSA_BITS || e.is_empty() || e.len() > 8 {
        tracing::warn!(kid = %kid, bits, "JWKS key refused: RSA modulus too small or bad exponent");
        return None;
    }
    let key = DecodingKey::from_rsa_raw_components(n, e);
    Some((kid, VerifyKey { key, alg }))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
