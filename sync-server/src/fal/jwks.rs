//! fal's webhook signing keys: the JWKS document read into Ed25519 keys, and a cache of them.
//!
//! fal publishes the public keys its webhooks are signed with as a JWKS
//! (`{"keys":[{"kty":"OKP","crv":"Ed25519","x":<base64url>}]}`). Fetching it for every webhook
//! would be slow and would let anyone who can post to the webhook route make us hammer fal, so
//! the keys are cached. A signature no cached key verifies may mean fal rotated its keys, so the
//! cache is refreshed then — but at most once per interval (a minute), except when it holds no
//! key at all. Concurrent refreshes are merged into one fetch.

use super::error::describe;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// The shortest time between two fetches prompted by an unknown signature.
pub(crate) const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// The timeout of one JWKS fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest JWKS document read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
}

/// The Ed25519 keys of a JWKS document; other keys are skipped. Err when the document is not a
/// JWKS or holds no usable Ed25519 key.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<Vec<VerifyingKey>, String> {
    let jwks: Jwks = serde_json::from_slice(body).map_err(|e| format!("not a JWKS: {e}"))?;
    let mut keys = Vec::new();
    for jwk in jwks.keys {
        if jwk.kty.as_deref() != Some("OKP") || jwk.crv.as_deref() != Some("Ed25519") {
            continue;
        }
        let Some(x) = jwk.x else { continue };
        let x = x.trim();
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(x).or_else(|_| URL_SAFE.decode(x)) else {
            tracing::warn!("fal JWKS: an Ed25519 key is not base64url; skipped");
            continue;
        };
        let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            tracing::warn!("fal JWKS: an Ed25519 key is not 32 bytes; skipped");
            continue;
        };
        match VerifyingKey::from_bytes(&bytes) {
            Ok(key) => keys.push(key),
            Err(_) => tracing::warn!("fal JWKS: an Ed25519 key is not a valid point; skipped"),
        }
    }
    if keys.is_empty() {
        return Err("the JWKS holds no Ed25519 key".into());
    }
    Ok(keys)
}

/// Why a refresh gave no keys.
#[derive(Debug)]
pub(crate) enum RefreshError {
    /// Another caller tried a moment ago (and failed); not fetched again so soon.
    TooSoon,
    /// The fetch failed.
    Failed(String),
}

#[derive(Default)]
struct State {
    keys: Arc<Vec<VerifyingKey>>,
    /// When a fetch was last tried (successful or not).
    last_attempt: Option<Instant>,
    /// Bumped on each successful fetch, so a waiter can tell someone else already refreshed.
    generation: u64,
}

/// The cached keys as of one moment.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub(crate) keys: Arc<Vec<VerifyingKey>>,
    generation: u64,
    last_attempt: Option<Instant>,
}

/// The key cache of one JWKS URL.
pub(crate) struct KeyCache {
    url: String,
    http: reqwest::Client,
    refetch_interval: Duration,
    state: RwLock<State>,
    fetching: tokio::sync::Mutex<()>,
}

impl KeyCache {
    pub(crate) fn new(url: String, http: reqwest::Client, refetch_interval: Duration) -> Self {
        KeyCache {
            url,
            http,
            refetch_interval,
            state: RwLock::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        Snapshot {
            keys: state.keys.clone(),
            generation: state.generation,
            last_attempt: state.last_attempt,
        }
    }

    /// Whether an unknown signature may prompt a fetch now.
    pub(crate) fn may_refetch(&self, seen: &Snapshot) -> bool {
        seen.keys.is_empty()
            || seen
                .last_attempt
                .is_none_or(|at| at.elapsed() >= self.refetch_interval)
    }

    /// Fresh keys: fetched now, or by someone else since `seen` was taken. A failed fetch
    /// still counts against the interval.
    pub(crate) async fn refresh(
        &self,
        seen: &Snapshot,
    ) -> Result<Arc<Vec<VerifyingKey>>, RefreshError> {
        let _one_at_a_time = self.fetching.lock().await;
        let now = self.snapshot();
        if now.generation != seen.generation {
            return Ok(now.keys);
        }
        if !now.keys.is_empty() && !self.may_refetch(&now) {
            // Someone else tried (and failed) meanwhile; do not hammer the JWKS.
            return Err(RefreshError::TooSoon);
        }
        let fetched = self.fetch().await;
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.last_attempt = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "fal webhook keys fetched");
                state.keys = Arc::new(keys);
                state.generation = state.generation.wrapping_add(1);
                Ok(state.keys.clone())
            }
            Err(e) => {
                tracing::warn!(error = %e, "fetching fal's webhook keys failed");
                Err(RefreshError::Failed(e))
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<VerifyingKey>, String> {
        let resp = self
            .http
            .get(&self.url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("fetching the JWKS failed: {}", describe(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("the JWKS answered HTTP {}", status.as_u16()));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err("the JWKS is too large".into());
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("reading the JWKS failed: {}", describe(&e)))?;
        if body.len() > MAX_JWKS_BYTES {
            return Err("the JWKS is too large".into());
        }
        parse_jwks(&body)
    }

    /// Makes the last fetch look `by` older (tests of the refetch interval).
    #[cfg(test)]
    pub(crate) fn backdate(&self, by: Duration) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.last_attempt = state.last_attempt.and_then(|at| at.checked_sub(by));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn x_of(seed: u8) -> String {
        URL_SAFE_NO_PAD.encode(
            SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .to_bytes(),
        )
    }

    #[test]
    fn reads_ed25519_keys_and_skips_others() {
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "n": "abc", "e": "AQAB"},
            {"kty": "OKP", "crv": "X25519", "x": x_of(1)},
            {"kty": "OKP", "crv": "Ed25519", "x": x_of(2), "kid": "a"},
            {"kty": "OKP", "crv": "Ed25519", "x": "not base64!"},
            {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
            {"kty": "OKP", "crv": "Ed25519"}
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes()).expect("one key");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0], SigningKey::from_bytes(&[2; 32]).verifying_key());
    }

    #[test]
    fn refuses_non_jwks_and_empty_sets() {
        assert!(parse_jwks(b"<html>").is_err());
        assert!(parse_jwks(br#"{"keys": []}"#).is_err());
        assert!(parse_jwks(br#"{"nokeys": 1}"#).is_err());
    }
}
