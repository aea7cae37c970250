//! Dev tokens, and the separation between dev and Clerk tokens.

mod common;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use iskra_auth::{Authenticator, DevAuth, Principal};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const SECRET: &[u8] = b"iskra dev secret for tests, 32+ bytes long";
const HOUR: Duration = Duration::from_secs(3600);

fn dev() -> DevAuth {
    DevAuth::new(SECRET.to_vec())
}

#[test]
fn dev_tokens_round_trip() {
    let d = dev();
    let token = d.mint("alice", Some("alice@example.com"), HOUR);
    let expected = Principal {
        user_id: "alice".into(),
        email: Some("alice@example.com".into()),
    };
    assert_eq!(d.verify(&token).unwrap(), expected);
    assert_eq!(d.verify(&d.mint("bob", None, HOUR)).unwrap().email, None);
}

#[test]
fn dev_token_claims_are_as_documented() {
    let token = dev().mint("alice", None, HOUR);
    let mut parts = token.split('.');
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    assert_eq!(payload["iss"], "iskra-dev");
    assert_eq!(payload["sub"], "alice");
    let ttl = payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap();
    assert_eq!(ttl, 3600);
}

#[test]
fn tampered_dev_token_refused() {
    let d = dev();
    let token = d.mint("alice", None, HOUR);
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("mallory");
    let forged_payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_invalid(d.verify(&forged), &forged);

    // Flipping one signature character is refused as well.
    let mut sig = parts[2].to_owned();
    let first = if sig.starts_with('A') { "B" } else { "A" };
    sig.replace_range(..1, first);
    let flipped = format!("{}.{}.{}", parts[0], parts[1], sig);
    assert_invalid(d.verify(&flipped), &flipped);
}

#[test]
fn dev_token_with_other_issuer_refused() {
    let claims = json!({ "iss": ISSUER, "sub": "alice", "exp": now() + 60 });
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    assert_invalid(dev().verify(&token), &token);
}

#[test]
fn expired_dev_token_refused() {
    let d = dev();
    let claims = json!({ "iss": "iskra-dev", "sub": "alice", "exp": now() - 10 });
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    assert_invalid(d.verify(&token), &token);
}

#[tokio::test]
async fn dev_token_fails_clerk_verification() {
    let a = TestKey::load("a");
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    let v = verifier(&server.url, Duration::from_secs(60));
    let token = dev().mint("alice", None, HOUR);
    assert_invalid(v.verify(&token).await, &token);
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn clerk_token_fails_dev_verification() {
    let a = TestKey::load("a");
    let token = a.sign(
        Algorithm::RS256,
        "a",
        &claims(json!({ "iss": "iskra-dev" })),
    );
    assert_invalid(dev().verify(&token), &token);
}

#[tokio::test]
async fn authenticator_dispatches_by_mode() {
    let a = TestKey::load("a");
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    let clerk = Authenticator::Clerk(verifier(&server.url, Duration::from_secs(60)));
    let dev_mode = Authenticator::Dev(dev());
    let clerk_token = a.sign(Algorithm::RS256, "a", &claims(json!({})));
    let dev_token = dev().mint("alice", None, HOUR);

    assert_eq!(
        clerk.verify_bearer(&clerk_token).await.unwrap().user_id,
        "user_2abc"
    );
    assert_eq!(
        dev_mode.verify_bearer(&dev_token).await.unwrap().user_id,
        "alice"
    );
    assert_invalid(clerk.verify_bearer(&dev_token).await, &dev_token);
    assert_invalid(dev_mode.verify_bearer(&clerk_token).await, &clerk_token);
    assert_invalid(dev_mode.verify_bearer("").await, "");
}
