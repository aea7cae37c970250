//! Clerk verification against a real local JWKS endpoint (spec S1).

mod common;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::TimeDelta;
use common::*;
use iskra_auth::{AuthError, ClerkConfig, ClerkVerifier, Principal};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);

/// Server serving key A under kid "a", and a verifier for it.
async fn setup() -> (JwksServer, ClerkVerifier, TestKey) {
    let a = TestKey::load("a");
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    let v = verifier(&server.url, MINUTE);
    (server, v, a)
}

fn ada() -> Principal {
    Principal {
        user_id: "user_2abc".into(),
        email: Some("ada@example.com".into()),
    }
}

#[tokio::test]
async fn rs256_accepted() {
    let (_s, v, a) = setup().await;
    assert_eq!(
        v.verify(&a.sign(Algorithm::RS256, "a", &claims(json!({}))))
            .await
            .unwrap(),
        ada()
    );
}

#[tokio::test]
async fn rs384_accepted() {
    let (_s, v, a) = setup().await;
    assert_eq!(
        v.verify(&a.sign(Algorithm::RS384, "a", &claims(json!({}))))
            .await
            .unwrap(),
        ada()
    );
}

#[tokio::test]
async fn rs512_accepted() {
    let (_s, v, a) = setup().await;
    assert_eq!(
        v.verify(&a.sign(Algorithm::RS512, "a", &claims(json!({}))))
            .await
            .unwrap(),
        ada()
    );
}

#[tokio::test]
async fn wrong_signature_from_other_key_with_same_kid_refused() {
    let (_s, v, _a) = setup().await;
    let b = TestKey::load("b");
    let token = b.sign(Algorithm::RS256, "a", &claims(json!({})));
    let msg = assert_invalid(v.verify(&token).await, &token);
    assert!(msg.contains("signature"), "{msg}");
}

#[tokio::test]
async fn wrong_issuer_refused() {
    let (_s, v, a) = setup().await;
    for iss in [
        json!("https://evil.example"),
        json!(format!("{ISSUER}/")),
        json!([ISSUER]),
    ] {
        let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "iss": iss })));
        assert_invalid(v.verify(&token).await, &token);
    }
}

#[tokio::test]
async fn missing_issuer_refused() {
    let (_s, v, a) = setup().await;
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "iss": null })));
    assert_invalid(v.verify(&token).await, &token);
}

#[tokio::test]
async fn foreign_azp_refused() {
    let (_s, v, a) = setup().await;
    let token = a.sign(
        Algorithm::RS256,
        "a",
        &claims(json!({ "azp": "https://evil.example" })),
    );
    let msg = assert_invalid(v.verify(&token).await, &token);
    assert!(msg.contains("unauthorized party"), "{msg}");
}

#[tokio::test]
async fn absent_azp_accepted() {
    let (_s, v, a) = setup().await;
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "azp": null })));
    assert_eq!(v.verify(&token).await.unwrap(), ada());
}

#[tokio::test]
async fn empty_authorized_parties_accept_any_azp() {
    let a = TestKey::load("a");
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    let cfg = ClerkConfig {
        authorized_parties: vec![],
        ..config(&server.url, MINUTE)
    };
    let v = ClerkVerifier::new(cfg, reqwest::Client::new()).unwrap();
    let token = a.sign(
        Algorithm::RS256,
        "a",
        &claims(json!({ "azp": "https://any.example" })),
    );
    assert_eq!(v.verify(&token).await.unwrap(), ada());
}

#[tokio::test]
async fn alg_none_refused() {
    let (s, v, _a) = setup().await;
    for header in [
        json!({"alg": "none"}),
        json!({"alg": "none", "kid": "a", "typ": "JWT"}),
    ] {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
        let token = format!("{h}.{p}.");
        assert_invalid(v.verify(&token).await, &token);
    }
    assert_eq!(s.hits(), 0, "a refused alg must not reach the JWKS");
}

#[tokio::test]
async fn hs256_signed_with_rsa_public_key_refused() {
    let (s, v, a) = setup().await;
    for secret in [&a.public_pem_pkcs8, &a.public_pem_pkcs1] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("a".into());
        let key = EncodingKey::from_secret(secret.as_bytes());
        let token = encode(&header, &claims(json!({})), &key).unwrap();
        let msg = assert_invalid(v.verify(&token).await, &token);
        assert!(msg.contains("algorithm"), "{msg}");
    }
    assert_eq!(s.hits(), 0, "a refused alg must not reach the JWKS");
}

#[tokio::test]
async fn ps256_with_the_right_rsa_key_refused() {
    let (_s, v, a) = setup().await;
    let token = a.sign(Algorithm::PS256, "a", &claims(json!({})));
    assert_invalid(v.verify(&token).await, &token);
}

#[tokio::test]
async fn jwk_alg_must_match_token_alg() {
    let a = TestKey::load("a");
    let mut jwk = a.jwk("a");
    jwk["alg"] = json!("RS256");
    let server = JwksServer::start(jwks(&[jwk])).await;
    let v = verifier(&server.url, MINUTE);
    let ok = a.sign(Algorithm::RS256, "a", &claims(json!({})));
    assert_eq!(v.verify(&ok).await.unwrap(), ada());
    let token = a.sign(Algorithm::RS512, "a", &claims(json!({})));
    assert_invalid(v.verify(&token).await, &token);
}

#[tokio::test]
async fn expired_10s_ago_refused() {
    let (_s, v, a) = setup().await;
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "exp": now() - 10 })));
    let msg = assert_invalid(v.verify(&token).await, &token);
    assert!(msg.contains("expired"), "{msg}");
}

#[tokio::test]
async fn expired_3s_ago_accepted_within_skew() {
    let (_s, v, a) = setup().await;
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "exp": now() - 3 })));
    assert_eq!(v.verify(&token).await.unwrap(), ada());
}

#[tokio::test]
async fn missing_exp_refused() {
    let (_s, v, a) = setup().await;
    for exp in [json!(null), json!("9999999999")] {
        let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "exp": exp })));
        assert_invalid(v.verify(&token).await, &token);
    }
}

#[tokio::test]
async fn nbf_10s_in_future_refused() {
    let (_s, v, a) = setup().await;
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "nbf": now() + 10 })));
    let msg = assert_invalid(v.verify(&token).await, &token);
    assert!(msg.contains("not valid yet"), "{msg}");
}

#[tokio::test]
async fn nbf_not_a_number_refused() {
    let (_s, v, a) = setup().await;
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "nbf": "later" })));
    assert_invalid(v.verify(&token).await, &token);
}

#[tokio::test]
async fn missing_sub_refused() {
    let (_s, v, a) = setup().await;
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "sub": null })));
    let msg = assert_invalid(v.verify(&token).await, &token);
    assert!(msg.contains("sub"), "{msg}");
}

#[tokio::test]
async fn empty_sub_refused() {
    let (_s, v, a) = setup().await;
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "sub": "" })));
    assert_invalid(v.verify(&token).await, &token);
}

#[tokio::test]
async fn email_is_optional() {
    let (_s, v, a) = setup().await;
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "email": null })));
    assert_eq!(v.verify(&token).await.unwrap().email, None);
}

#[tokio::test]
async fn missing_kid_refused() {
    let (s, v, a) = setup().await;
    let key = EncodingKey::from_rsa_pem(&a.private_pem).unwrap();
    let token = encode(&Header::new(Algorithm::RS256), &claims(json!({})), &key).unwrap();
    assert_invalid(v.verify(&token).await, &token);
    assert_eq!(s.hits(), 0);
}

#[tokio::test]
async fn garbage_tokens_refused() {
    let (_s, v, _a) = setup().await;
    for token in [
        "",
        "Bearer",
        "a.b.c",
        "....",
        "eyJhbGciOiJSUzI1NiJ9.e30.x",
        &"A".repeat(20_000),
    ] {
        assert_invalid(v.verify(token).await, token);
    }
}

#[tokio::test]
async fn http_non_loopback_jwks_url_refused() {
    for url in [
        "http://clerk.example.com/.well-known/jwks.json",
        "http://192.168.1.10/jwks",
    ] {
        let res = ClerkVerifier::new(config(url, MINUTE), reqwest::Client::new());
        assert!(matches!(res, Err(AuthError::Invalid(_))), "{url} accepted");
    }
    let https = config("https://clerk.example.com/.well-known/jwks.json", MINUTE);
    assert!(ClerkVerifier::new(https, reqwest::Client::new()).is_ok());
}

#[tokio::test]
async fn token_expires_when_the_clock_passes_exp_and_skew() {
    let a = TestKey::load("a");
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    let t0 = now();
    let clock = paused_clock_at(t0);
    let v = verifier_on(&server.url, MINUTE, &clock);
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "exp": t0 + 60 })));
    assert_eq!(v.verify(&token).await.unwrap(), ada());
    // exp plus the 5 s skew is the last accepted second.
    clock.advance(TimeDelta::seconds(65));
    assert_eq!(v.verify(&token).await.unwrap(), ada());
    clock.advance(TimeDelta::seconds(1));
    let msg = assert_invalid(v.verify(&token).await, &token);
    assert!(msg.contains("expired"), "{msg}");
}

#[tokio::test]
async fn token_becomes_valid_when_the_clock_reaches_nbf() {
    let a = TestKey::load("a");
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    let t0 = now();
    let clock = paused_clock_at(t0);
    let v = verifier_on(&server.url, MINUTE, &clock);
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({ "nbf": t0 + 30 })));
    let msg = assert_invalid(v.verify(&token).await, &token);
    assert!(msg.contains("not valid yet"), "{msg}");
    clock.advance(TimeDelta::seconds(25));
    assert_eq!(v.verify(&token).await.unwrap(), ada());
}
