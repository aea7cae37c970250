//! Clerk mode against a local JWKS endpoint: the RSA fixture keys of `iskra-auth`
//! (`auth/tests/fixtures`), a JWKS server on 127.0.0.1 and token builders.

use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use iskra_server::config::AuthMode;
use iskra_server::Config;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

/// Issuer of the test Clerk instance.
pub const ISSUER: &str = "https://clerk.iskra.test";
/// The one authorized party (`azp`) configured.
pub const APP: &str = "https://app.iskra.test";

/// A fixture RSA key.
pub struct TestKey {
    private_pem: Vec<u8>,
    n: String,
    e: String,
    /// The public key as PEM (SPKI), for the HS256 key-confusion attack.
    pub public_pem: String,
}

impl TestKey {
    /// Loads `auth/tests/fixtures/test-key-{name}.pem`.
    pub fn load(name: &str) -> TestKey {
        let path = format!(
            "{}/auth/tests/fixtures/test-key-{name}.pem",
            env!("CARGO_MANIFEST_DIR")
        );
        let pem = std::fs::read_to_string(&path).expect("fixture key");
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).expect("pkcs8 key");
        let public = private.to_public_key();
        TestKey {
            n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            public_pem: public
                .to_public_key_pem(LineEnding::LF)
                .expect("public pem"),
            private_pem: pem.into_bytes(),
        }
    }

    /// The public JWK under `kid`.
    pub fn jwk(&self, kid: &str) -> Value {
        json!({ "kty": "RSA", "use": "sig", "kid": kid, "n": self.n, "e": self.e })
    }

    /// A JWS of `claims` signed with this key.
    pub fn sign(&self, alg: Algorithm, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(&self.private_pem).expect("rsa pem"),
        )
        .expect("sign")
    }
}

/// Serves `{"keys": keys}` at `http://127.0.0.1:PORT/jwks`; returns that URL.
pub async fn jwks_server(keys: Vec<Value>) -> String {
    let body = json!({ "keys": keys });
    let app = Router::new().route("/jwks", get(move || async move { Json(body) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind jwks");
    let url = format!("http://{}/jwks", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Switches `cfg` to Clerk mode against the JWKS at `jwks_url`.
pub fn configure(cfg: &mut Config, jwks_url: &str) {
    cfg.auth_mode = AuthMode::Clerk;
    cfg.clerk_issuer = Some(ISSUER.into());
    cfg.clerk_jwks_url = Some(jwks_url.into());
    cfg.clerk_authorized_parties = Some(APP.into());
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims for `sub`, with `overrides` applied (`null` removes a claim).
pub fn claims(sub: &str, overrides: Value) -> Value {
    let mut c = json!({
        "iss": ISSUER, "sub": sub, "azp": APP, "email": format!("{sub}@example.com"),
        "iat": now(), "nbf": now() - 1, "exp": now() + 300, "sid": "sess_1",
    });
    let map = c.as_object_mut().expect("claims object");
    for (k, v) in overrides.as_object().expect("overrides object") {
        if v.is_null() {
            map.remove(k);
        } else {
            map.insert(k.clone(), v.clone());
        }
    }
    c
}

/// An unsigned token (`alg: none`).
pub fn unsigned(claims: &Value) -> String {
    let header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": "a"}).to_string());
    format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// An HS256 token whose HMAC key is the RSA public key (algorithm confusion).
pub fn hs256_with_public_key(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("a".into());
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(key.public_pem.as_bytes()),
    )
    .expect("hs256")
}
