//! JWKS caching, refetch on unknown `kid`, rate limiting and single-flight (spec S1). The refetch
//! interval is crossed by moving the verifier's manual clock, never by sleeping; the fake JWKS
//! server's hit counter shows each fetch.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use common::*;
use iskra_auth::AuthError;
use jsonwebtoken::Algorithm;
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn keys_are_cached_between_verifications() {
    let a = TestKey::load("a");
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    let v = verifier(&server.url, MINUTE);
    for _ in 0..5 {
        v.verify(&a.sign(Algorithm::RS256, "a", &claims(json!({}))))
            .await
            .unwrap();
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn unknown_kid_refetches_once_and_succeeds_after_rotation() {
    let (a, b) = (TestKey::load("a"), TestKey::load("b"));
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    let interval = MINUTE;
    let clock = paused_clock();
    let v = verifier_on(&server.url, interval, &clock);
    v.verify(&a.sign(Algorithm::RS256, "a", &claims(json!({}))))
        .await
        .unwrap();
    assert_eq!(server.hits(), 1);

    // Clerk rotates: key B under a new kid replaces key A.
    server.set_jwks(jwks(&[b.jwk("b")]));
    clock.advance(TimeDelta::from_std(interval).unwrap());
    let new_token = b.sign(Algorithm::RS256, "b", &claims(json!({})));
    v.verify(&new_token).await.unwrap();
    assert_eq!(server.hits(), 2, "exactly one refetch for the unknown kid");
    v.verify(&new_token).await.unwrap();
    assert_eq!(server.hits(), 2, "the rotated key is cached");

    // The retired key is gone from the cache, and asking again within the interval is free.
    clock.advance(TimeDelta::seconds(59));
    let old = a.sign(Algorithm::RS256, "a", &claims(json!({})));
    assert_invalid(v.verify(&old).await, &old);
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_unknown_kids_causes_at_most_one_refetch() {
    let a = TestKey::load("a");
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    let interval = MINUTE;
    let clock = paused_clock();
    let v = Arc::new(verifier_on(&server.url, interval, &clock));
    v.verify(&a.sign(Algorithm::RS256, "a", &claims(json!({}))))
        .await
        .unwrap();
    assert_eq!(server.hits(), 1);

    clock.advance(TimeDelta::from_std(interval).unwrap());
    server.set_delay(Duration::from_millis(200));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (v, token) = (
                Arc::clone(&v),
                a.sign(Algorithm::RS256, &format!("ghost-{i}"), &claims(json!({}))),
            );
            tokio::spawn(async move { (v.verify(&token).await, token) })
        })
        .collect();
    for task in tasks {
        let (res, token) = task.await.unwrap();
        assert_invalid(res, &token);
    }
    assert_eq!(server.hits(), 2, "20 unknown kids, one refetch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_after_rotation_all_succeed_with_one_refetch() {
    let (a, b) = (TestKey::load("a"), TestKey::load("b"));
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    let interval = MINUTE;
    let clock = paused_clock();
    let v = Arc::new(verifier_on(&server.url, interval, &clock));
    v.verify(&a.sign(Algorithm::RS256, "a", &claims(json!({}))))
        .await
        .unwrap();

    server.set_jwks(jwks(&[a.jwk("a"), b.jwk("b")]));
    server.set_delay(Duration::from_millis(200));
    clock.advance(TimeDelta::from_std(interval).unwrap());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (v, token) = (
                Arc::clone(&v),
                b.sign(Algorithm::RS256, "b", &claims(json!({}))),
            );
            tokio::spawn(async move { v.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().user_id, "user_2abc");
    }
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_burst_fetches_once() {
    let a = TestKey::load("a");
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    server.set_delay(Duration::from_millis(200));
    let v = Arc::new(verifier(&server.url, MINUTE));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (v, token) = (
                Arc::clone(&v),
                a.sign(Algorithm::RS256, "a", &claims(json!({}))),
            );
            tokio::spawn(async move { v.verify(&token).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn jwks_server_down_with_nothing_cached_is_keys_unavailable() {
    let a = TestKey::load("a");
    // Reserve a port, then close it: connections are refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    drop(listener);
    let v = verifier(&url, MINUTE);
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({})));
    for _ in 0..2 {
        match v.verify(&token).await {
            Err(AuthError::KeysUnavailable(msg)) => assert!(!msg.contains(&token)),
            other => panic!("expected KeysUnavailable, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn jwks_error_status_is_keys_unavailable_then_recovers() {
    let a = TestKey::load("a");
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    server.set_failing(true);
    let interval = MINUTE;
    let clock = paused_clock();
    let v = verifier_on(&server.url, interval, &clock);
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({})));
    assert!(matches!(
        v.verify(&token).await,
        Err(AuthError::KeysUnavailable(_))
    ));
    assert!(matches!(
        v.verify(&token).await,
        Err(AuthError::KeysUnavailable(_))
    ));
    assert_eq!(server.hits(), 1, "failures are rate limited too");

    server.set_failing(false);
    clock.advance(TimeDelta::from_std(interval).unwrap());
    assert_eq!(v.verify(&token).await.unwrap().user_id, "user_2abc");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn jwks_without_usable_keys_is_keys_unavailable() {
    let a = TestKey::load("a");
    let mut enc_key = a.jwk("a");
    enc_key["use"] = json!("enc");
    let server = JwksServer::start(jwks(&[enc_key, json!({"kty": "EC", "kid": "a"})])).await;
    let v = verifier(&server.url, MINUTE);
    let token = a.sign(Algorithm::RS256, "a", &claims(json!({})));
    assert!(matches!(
        v.verify(&token).await,
        Err(AuthError::KeysUnavailable(_))
    ));
}

#[tokio::test]
async fn unknown_kid_refetches_only_after_the_interval() {
    let (a, b) = (TestKey::load("a"), TestKey::load("b"));
    let server = JwksServer::start(jwks(&[a.jwk("a")])).await;
    let clock = paused_clock();
    let v = verifier_on(&server.url, MINUTE, &clock);
    v.verify(&a.sign(Algorithm::RS256, "a", &claims(json!({}))))
        .await
        .unwrap();
    server.set_jwks(jwks(&[a.jwk("a"), b.jwk("b")]));
    let token = b.sign(Algorithm::RS256, "b", &claims(json!({})));
    // Within the minute after the first fetch the unknown kid is refused without a fetch.
    clock.advance(TimeDelta::seconds(59));
    assert_invalid(v.verify(&token).await, &token);
    assert_eq!(server.hits(), 1);
    // A minute after it, the set is fetched again and the new key verifies.
    clock.advance(TimeDelta::seconds(1));
    assert_eq!(v.verify(&token).await.unwrap().user_id, "user_2abc");
    assert_eq!(server.hits(), 2);
}
