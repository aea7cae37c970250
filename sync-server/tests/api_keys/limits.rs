//! The per-key request limit: 200 parallel requests with one key against 60 a minute let
//! exactly 60 through, the other 140 get the limiter's 429 body and headers, and the usage
//! endpoint counts exactly the 60 that passed.

use super::support::{create_key, usage_of, KeyClient};
use crate::common::{Backend, Resp, TestServer};
use futures::future::join_all;
use serde_json::json;

const LIMIT: usize = 60;
const REQUESTS: usize = 200;

/// Fires `REQUESTS` requests with a fresh key at once; retried with a new key when the
/// burst straddled a minute boundary of the limiter's fixed windows (the wall-clock minute is
/// read before and after, so a retry only happens when the windows really changed).
async fn burst(srv: &TestServer, user: &crate::common::User) -> (String, Vec<Resp>) {
    let minute = || chrono::Utc::now().timestamp().div_euclid(60);
    for attempt in 0..3 {
        let created = create_key(user, &format!("burst {attempt}"), None).await;
        let k = KeyClient::new(srv, created["key"].as_str().unwrap());
        let start = minute();
        let results = join_all((0..REQUESTS).map(|_| {
            let k = k.clone();
            async move { k.get("/v1/images/usage").await }
        }))
        .await;
        if minute() == start {
            return (created["id"].as_str().unwrap().to_owned(), results);
        }
    }
    panic!("three bursts in a row straddled a minute boundary");
}

async fn parallel_requests_pass_exactly_the_key_limit(b: Backend) {
    let srv = TestServer::default(b).await;
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
        assert_eq!(res.header("ratelimit-limit"), Some("60"));
        assert_eq!(res.header("ratelimit-remaining"), Some("0"));
        assert!(res.header("retry-after").is_some());
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
