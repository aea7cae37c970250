//! Shared test support: fixture RSA keys, a local JWKS endpoint and token builders.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use iskra_auth::{AuthError, ClerkConfig, ClerkVerifier};
use iskra_clock::ManualClock;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

/// Issuer configured in every test verifier.
pub const ISSUER: &str = "https://clerk.iskra.test";
/// The one authorized party of the test verifiers.
pub const APP: &str = "https://app.iskra.test";

/// A fixture RSA key with everything the tests need from it.
pub struct TestKey {
    pub private_pem: Vec<u8>,
    pub n: String,
    pub e: String,
    pub public_pem_pkcs8: String,
    pub public_pem_pkcs1: String,
}

impl TestKey {
    /// Loads `tests/fixtures/test-key-{name}.pem`.
    pub fn load(name: &str) -> TestKey {
        let path = format!(
            "{}/tests/fixtures/test-key-{name}.pem",
            env!("CARGO_MANIFEST_DIR")
        );
        let pem = std::fs::read_to_string(&path).unwrap();
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap();
        let public = private.to_public_key();
        TestKey {
            private_pem: pem.into_bytes(),
            n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            public_pem_pkcs8: public.to_public_key_pem(LineEnding::LF).unwrap(),
            public_pem_pkcs1: public.to_pkcs1_pem(LineEnding::LF).unwrap(),
        }
    }

    /// The public JWK of this key under `kid` (no `alg`, `use: sig`).
    pub fn jwk(&self, kid: &str) -> Value {
        json!({ "kty": "RSA", "use": "sig", "kid": kid, "n": self.n, "e": self.e })
    }

    /// A compact JWS of `claims` signed with this key.
    pub fn sign(&self, alg: Algorithm, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(&self.private_pem).unwrap(),
        )
        .unwrap()
    }
}

/// A JWK set holding `keys`.
pub fn jwks(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Valid Clerk-like claims, with `overrides` applied (a `null` override removes the claim).
pub fn claims(overrides: Value) -> Value {
    let mut c = json!({
        "iss": ISSUER, "sub": "user_2abc", "azp": APP, "email": "ada@example.com",
        "iat": now(), "nbf": now() - 1, "exp": now() + 300, "sid": "sess_1",
    });
    let map = c.as_object_mut().unwrap();
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            map.remove(k);
        } else {
            map.insert(k.clone(), v.clone());
        }
    }
    c
}

#[derive(Clone)]
struct ServerState {
    jwks: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
    delay: Arc<Mutex<Duration>>,
    failing: Arc<AtomicBool>,
}

/// A real HTTP JWKS endpoint on 127.0.0.1 that counts its hits.
pub struct JwksServer {
    pub url: String,
    state: ServerState,
}

async fn serve_jwks(State(s): State<ServerState>) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    let delay = *s.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if s.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let body = s.jwks.lock().unwrap().clone();
    Json(body).into_response()
}

impl JwksServer {
    pub async fn start(initial: Value) -> JwksServer {
        let state = ServerState {
            jwks: Arc::new(Mutex::new(initial)),
            hits: Arc::new(AtomicUsize::new(0)),
            delay: Arc::new(Mutex::new(Duration::ZERO)),
            failing: Arc::new(AtomicBool::new(false)),
        };
        let app = Router::new()
            .route("/jwks", get(serve_jwks))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        JwksServer { url, state }
    }

    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    pub fn set_jwks(&self, jwks: Value) {
        *self.state.jwks.lock().unwrap() = jwks;
    }

    pub fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    pub fn set_failing(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }
}

/// Test configuration for a JWKS at `url`: authorized party [`APP`], 5 s skew.
pub fn config(url: &str, min_refetch: Duration) -> ClerkConfig {
    ClerkConfig {
        issuer: ISSUER.into(),
        jwks_url: url.into(),
        authorized_parties: vec![APP.into()],
        skew_secs: 5,
        min_refetch_interval: min_refetch,
    }
}

pub fn verifier(url: &str, min_refetch: Duration) -> ClerkVerifier {
    ClerkVerifier::new(config(url, min_refetch), reqwest::Client::new()).unwrap()
}

/// A manual clock standing at the wall-clock second [`claims`] are built from.
pub fn paused_clock() -> ManualClock {
    paused_clock_at(now())
}

/// A paused clock at unix second `t0`: tests that put times in tokens take them from `t0`, not
/// from a second reading of the wall clock, which may already be in the next second.
pub fn paused_clock_at(t0: i64) -> ManualClock {
    ManualClock::new(chrono::DateTime::from_timestamp(t0, 0).unwrap())
}

/// Like [`verifier`], reading the time from `clock`.
pub fn verifier_on(url: &str, min_refetch: Duration, clock: &ManualClock) -> ClerkVerifier {
    ClerkVerifier::with_clock(
        config(url, min_refetch),
        reqwest::Client::new(),
        clock.clock(),
    )
    .unwrap()
}

/// Asserts `res` is `AuthError::Invalid` whose message echoes no part of `token`.
pub fn assert_invalid<T: std::fmt::Debug>(res: Result<T, AuthError>, token: &str) -> String {
    match res {
        Err(AuthError::Invalid(msg)) => {
            for part in token.split('.').filter(|p| p.len() >= 8) {
                assert!(!msg.contains(part), "error message echoes the token: {msg}");
            }
            msg
        }
        other => panic!("expected AuthError::Invalid, got {other:?}"),
    }
}
