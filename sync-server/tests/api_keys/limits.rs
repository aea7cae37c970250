//! The per-key request limit: 200 parallel requests with one key against 60 a minute let
//! exactly 60 through, the other 140 get the limiter's 429 body and headers, and the usage
//! endpoint counts exactly the 60 that passed. The server runs on a manual clock, so the burst
//! cannot straddle a minute and every reset instant is known.

use super::support::{create_key, usage_of, KeyClient};
use crate::common::{Backend, ManualClock, Resp, TestServer};
use futures::future::join_all;
use serde_json::json;

const LIMIT: usize = 60;
const REQUESTS: usize = 200;

/// Fires `REQUESTS` requests with a fresh key at once; returns the key's id and the answers.
async fn burst(srv: &TestServer, user: &crate::common::User) -> (String, Vec<Resp>) {
    let created = create_key(user, "burst", None).await;
    let k = KeyClient::new(srv, created["key"].as_str().unwrap());
    let results = join_all((0..REQUESTS).map(|_| {
        let k = k.clone();
        async move { k.get("/v1/images/usage").await }
    }))
    .await;
    (created["id"].as_str().unwrap().to_owned(), results)
}

async fn parallel_requests_pass_exactly_the_key_limit(b: Backend) {
    // The server's clock stands still 30 s before a minute ends: the burst is in one window.
    let clock = ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-12-01T10:20:30Z")
            .unwrap()
            .to_utc(),
    );
    let srv = TestServer::start_at(b, &clock, |_| {}).await;
    assert_eq!(srv.config.api_keys.requests_free.minute, LIMIT as i64);
    let alice = srv.user("alice");
    let (id, results) = burst(&srv, &alice).await;
    let count = |status: u16| results.iter().filter(|r| r.status == status).count();
    assert_eq!((count(200), count(429)), (LIMIT, REQUESTS - LIMIT));
    for res in results.iter().filter(|r| r.status == 429) {
        let err = res.expect_error(429, "RATE_LIMITED");
        assert_eq!(
            (
                &err["window"],
                &err["limit"],
                &err["remaining"],
                &err["tier"]
            ),
            (&json!("minute"), &json!(LIMIT), &json!(0), &json!("free"))
        );
        assert_eq!(err["resetsAt"], json!("2026-12-01T10:21:00Z"));
        assert_eq!(res.header("ratelimit-limit"), Some("60"));
        assert_eq!(res.header("ratelimit-remaining"), Some("0"));
        assert_eq!(res.header("retry-after"), Some("30"));
    }
    // Exactly what passed is counted (read with the bearer token, which counts nothing).
    let usage = usage_of(&alice, &id).await;
    assert_eq!(usage["requests"], json!(LIMIT), "{usage}");
    let listed = alice.get("/v1/api-keys").await.expect(200).clone();
    let item = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == json!(id))
        .unwrap()
        .clone();
    assert_eq!(item["usageToday"]["requests"], json!(LIMIT), "{item}");
    assert!(item["lastUsedAt"].is_string());
    // The owner's bearer requests are not limited by the key.
    alice.get("/v1/api-keys").await.expect(200);
}

backend_tests!(parallel_requests_pass_exactly_the_key_limit);
