//! A fake OAuth 2.0 + JWKS issuer standing in for Clerk in whole-system tests: authorization
//! code with PKCE (S256 only), refresh tokens, and RS256 JWT access tokens signed with the test
//! key `sync-server/auth/tests/fixtures/test-key-a.pem`, whose public half it serves at
//! `/.well-known/jwks.json` — so a real `iskra-server` in Clerk mode verifies its tokens.
//!
//! `/oauth/authorize` "logs in" the fixed [`FAKE_USER`] at once and redirects to the client's
//! loopback `redirect_uri` with `code` and `state`; `/oauth/token` checks the code verifier.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Subject (`sub`) of the user the fake issuer signs in.
pub const FAKE_USER: &str = "user_fake_pkce_1";
/// Email claim of that user.
pub const FAKE_EMAIL: &str = "pkce@example.test";
/// The only client id the issuer knows.
pub const CLIENT_ID: &str = "iskra-desktop-test";
/// Key id of the signing key in the JWKS.
const KID: &str = "fake-a";
/// Lifetime of access tokens, seconds (short, as Clerk's are).
pub const ACCESS_TTL_SECS: u64 = 90;

struct Grant {
    challenge: String,
    redirect_uri: String,
}

struct Inner {
    issuer: String,
    key: EncodingKey,
    jwk: Value,
    codes: Mutex<HashMap<String, Grant>>,
    refresh_tokens: Mutex<HashMap<String, ()>>,
    refreshes: AtomicUsize,
}

/// A running fake issuer on `127.0.0.1:<random>`; stops when dropped.
pub struct FakeIssuer {
    /// Base URL, also the `iss` of its tokens.
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn random_token() -> String {
    let bytes: [u8; 24] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

impl FakeIssuer {
    /// Starts the issuer.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let pem_path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sync-server/auth/tests/fixtures/test-key-a.pem"
        );
        let pem = std::fs::read_to_string(pem_path).unwrap();
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap();
        let public = private.to_public_key();
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        });
        let inner = Arc::new(Inner {
            issuer: url.clone(),
            key: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            jwk,
            codes: Mutex::default(),
            refresh_tokens: Mutex::default(),
            refreshes: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/token", post(token))
            .route("/.well-known/jwks.json", get(jwks))
            .with_state(Arc::clone(&inner));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, inner, task }
    }

    /// The JWKS URL to configure in the server.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.url)
    }

    /// How many refresh-token grants were answered with tokens.
    pub fn refreshes(&self) -> usize {
        self.inner.refreshes.load(Ordering::SeqCst)
    }
}

fn oauth_error(code: &str, description: &str) -> Response {
    let body = json!({"error": code, "error_description": description});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    state: Option<String>,
}

fn is_loopback_redirect(uri: &str) -> bool {
    uri.strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|port| port.parse::<u16>().is_ok())
}

async fn authorize(State(s): State<Arc<Inner>>, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.response_type.as_deref() != Some("code") {
        return oauth_error("unsupported_response_type", "response_type must be code");
    }
    if q.client_id.as_deref() != Some(CLIENT_ID) {
        return oauth_error("unauthorized_client", "unknown client_id");
    }
    let Some(redirect_uri) = q.redirect_uri.filter(|r| is_loopback_redirect(r)) else {
        return oauth_error(
            "invalid_request",
            "redirect_uri must be a 127.0.0.1 loopback",
        );
    };
    if q.code_challenge_method.as_deref() != Some("S256") {
        return oauth_error("invalid_request", "code_challenge_method must be S256");
    }
    let Some(challenge) = q.code_challenge.filter(|c| c.len() == 43) else {
        return oauth_error("invalid_request", "code_challenge missing");
    };
    let Some(state) = q.state.filter(|s| !s.is_empty()) else {
        return oauth_error("invalid_request", "state missing");
    };
    let code = random_token();
    s.codes.lock().unwrap().insert(
        code.clone(),
        Grant {
            challenge,
            redirect_uri: redirect_uri.clone(),
        },
    );
    let mut to = reqwest::Url::parse(&redirect_uri).unwrap();
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    Redirect::to(to.as_str()).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    client_id: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

fn issue(s: &Inner) -> Response {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": s.issuer, "sub": FAKE_USER, "azp": CLIENT_ID, "email": FAKE_EMAIL,
        "iat": now, "nbf": now, "exp": now + ACCESS_TTL_SECS,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.to_owned());
    let access = encode(&header, &claims, &s.key).unwrap();
    let refresh = random_token();
    s.refresh_tokens.lock().unwrap().insert(refresh.clone(), ());
    Json(json!({
        "access_token": access, "token_type": "Bearer",
        "expires_in": ACCESS_TTL_SECS, "refresh_token": refresh,
    }))
    .into_response()
}

async fn token(State(s): State<Arc<Inner>>, Form(f): Form<TokenForm>) -> Response {
    if f.client_id.as_deref() != Some(CLIENT_ID) {
        return oauth_error("invalid_client", "unknown client_id");
    }
    match f.grant_type.as_str() {
        "authorization_code" => {
            let grant = f.code.and_then(|c| s.codes.lock().unwrap().remove(&c));
            let Some(grant) = grant else {
                return oauth_error("invalid_grant", "unknown or used code");
            };
            if f.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
                return oauth_error("invalid_grant", "redirect_uri differs");
            }
            let verifier = f.code_verifier.unwrap_or_default();
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if verifier.len() < 43 || computed != grant.challenge {
                return oauth_error("invalid_grant", "code_verifier does not match");
            }
            issue(&s)
        }
        "refresh_token" => {
            let known = f
                .refresh_token
                .and_then(|r| s.refresh_tokens.lock().unwrap().remove(&r));
            if known.is_none() {
                return oauth_error("invalid_grant", "unknown refresh token");
            }
            s.refreshes.fetch_add(1, Ordering::SeqCst);
            issue(&s)
        }
        _ => oauth_error("unsupported_grant_type", "grant_type not supported"),
    }
}

async fn jwks(State(s): State<Arc<Inner>>) -> Json<Value> {
    Json(json!({"keys": [s.jwk]}))
}

/// Starts the code half of a PKCE flow by hand (for negative tests): returns the code the
/// issuer redirects with for this challenge.
pub async fn authorize_by_hand(issuer: &str, redirect_uri: &str, challenge: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http
        .get(format!("{issuer}/oauth/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", redirect_uri),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()["location"].to_str().unwrap();
    let url = reqwest::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}
