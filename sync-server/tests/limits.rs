//! Limits under concurrency (S5, S6): parallel uploads never pass the storage quota together,
//! an over-limit user keeps reading, syncing and deleting, and N parallel requests against a
//! rate limit L let exactly L through with the 429 headers and body of docs/api.md — with the
//! in-process limiter (embedded) and the Redis one (scaled).

#[macro_use]
mod common;

use common::media::png;
use common::replica::Replica;
use common::{Backend, Resp, TestServer, User};
use futures::future::join_all;
use serde_json::{json, Value};
use std::future::Future;

/// Runs `n` requests at once and returns their responses.
async fn burst<F, Fut>(n: usize, make: F) -> Vec<Resp>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Resp> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("request task"))
        .collect()
}

fn count(results: &[Resp], status: u16) -> usize {
    results.iter().filter(|r| r.status == status).count()
}

async fn parallel_uploads_never_pass_the_quota(b: Backend) {
    let srv = TestServer::start(b, |cfg| cfg.tiers.free.images = 10).await;
    let alice = srv.user("alice");
    let p = alice.new_project().await;
    let files: Vec<Vec<u8>> = (0..40).map(|i| png(8, 8, i * 3)).collect();
    let results = burst(40, |i| {
        let (user, bytes) = (alice.clone(), files[i].clone());
        async move { user.upload(&bytes, "image/png").await }
    })
    .await;
    assert_eq!(
        (count(&results, 201), count(&results, 403)),
        (10, 30),
        "statuses: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let stored: i64 = results
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.json["sizeBytes"].as_i64().unwrap())
        .sum();
    for refused in results.iter().filter(|r| r.status == 403) {
        let storage = &refused.expect_error(403, "STORAGE_QUOTA_EXCEEDED")["storage"];
        assert_eq!(
            (storage["images"].as_i64(), storage["imagesLimit"].as_i64()),
            (Some(10), Some(10)),
            "{storage}"
        );
        assert_eq!(storage["overLimit"], true);
        assert!(storage["usedBytes"].is_i64() && storage["limitBytes"].is_i64());
    }
    let quota = alice.storage().await;
    assert_eq!(
        quota,
        json!({"usedBytes": stored, "limitBytes": 500_000_000, "images": 10, "imagesLimit": 10,
        "videos": 0, "videosLimit": 20, "overLimit": true})
    );
    assert_eq!(alice.list_all("/v1/assets", "").await.len(), 10);
    assert!(srv.tmp_files().is_empty());
    if let Some(blobs) = srv.blob_files() {
        assert_eq!(blobs.len(), 10, "refused uploads left blobs: {blobs:?}");
    }
    over_limit_user_keeps_working(&alice, p, &results).await;
}

/// At the limit: reads, downloads, sync and deletes work; uploads wait until there is room.
async fn over_limit_user_keeps_working(alice: &User, p: uuid::Uuid, results: &[Resp]) {
    let created: Vec<&Value> = results
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| &r.json)
        .collect();
    let id = created[0]["id"].as_str().unwrap();
    alice
        .upload(&png(9, 9, 1000), "image/png")
        .await
        .expect_error(403, "STORAGE_QUOTA_EXCEEDED");
    alice.project(p).await;
    alice
        .get(&format!("/v1/assets/{id}/content"))
        .await
        .expect(200);
    let mut device = Replica::new("dev1");
    device.set(
        &uuid::Uuid::new_v4().to_string(),
        json!({"kind": "image", "assetId": id}),
        1000,
    );
    device.sync(alice, p).await;
    alice
        .patch(&format!("/v1/projects/{p}"), &json!({"name": "still mine"}))
        .await
        .expect(200);
    alice.delete(&format!("/v1/assets/{id}")).await.expect(204);
    assert_eq!(alice.storage().await["overLimit"], false);
    alice
        .upload(&png(9, 9, 1000), "image/png")
        .await
        .expect(201);
    alice
        .upload(&png(9, 9, 1001), "image/png")
        .await
        .expect_error(403, "STORAGE_QUOTA_EXCEEDED");
}

/// Sends `n` requests at once from `make` within one fixed minute window: a burst starts with
/// at least 10 s left in the window, and one that still straddles a boundary is repeated with
/// the next `attempt` (callers use a fresh limiter key per attempt when they can).
async fn burst_in_one_minute<F, Fut>(n: usize, make: F) -> Vec<Resp>
where
    F: Fn(usize, usize) -> Fut,
    Fut: Future<Output = Resp> + Send + 'static,
{
    let minute = || chrono::Utc::now().timestamp().div_euclid(60);
    for attempt in 0..3 {
        let into_window = chrono::Utc::now().timestamp_millis().rem_euclid(60_000) as u64;
        if into_window > 50_000 {
            // Wall-clock alignment with the limiter's fixed window, not synchronisation.
            tokio::time::sleep(std::time::Duration::from_millis(60_000 - into_window + 50)).await;
        }
        let start = minute();
        let results = burst(n, |i| make(attempt, i)).await;
        if minute() == start {
            return results;
        }
    }
    panic!("three bursts in a row straddled a minute boundary");
}

/// Checks the headers and body docs/api.md gives a 429.
fn assert_rate_limited(res: &Resp, limit: i64, tier: Value) {
    let err = res.expect_error(429, "RATE_LIMITED");
    let header = |name: &str| {
        res.header(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .parse::<i64>()
            .expect(name)
    };
    let retry = header("retry-after");
    assert!((0..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        (header("ratelimit-limit"), header("ratelimit-remaining")),
        (limit, 0)
    );
    assert!((0..=60).contains(&header("ratelimit-reset")));
    assert_eq!(
        (
            &err["window"],
            &err["limit"],
            &err["remaining"],
            &err["tier"]
        ),
        (&json!("minute"), &json!(limit), &json!(0), &tier)
    );
    assert!(err["used"].as_i64().is_some_and(|u| u >= limit), "{err}");
    let resets = err["resetsAt"].as_str().expect("resetsAt");
    assert!(
        chrono::DateTime::parse_from_rfc3339(resets).is_ok(),
        "resetsAt {resets}"
    );
    assert_eq!(err["upgradeUrl"], "iskra://upgrade");
}

async fn parallel_requests_pass_exactly_the_user_limit(b: Backend) {
    const LIMIT: i64 = 37;
    let srv = TestServer::start(b, |cfg| cfg.rate_limits.user.minute = LIMIT).await;
    let results = burst_in_one_minute(100, |attempt, _| {
        let user = srv.user(&format!("busy-{attempt}"));
        async move { user.get("/v1/me").await }
    })
    .await;
    assert_eq!(
        (count(&results, 200), count(&results, 429)),
        (LIMIT as usize, 100 - LIMIT as usize)
    );
    for res in results.iter().filter(|r| r.status == 429) {
        assert_rate_limited(res, LIMIT, json!("free"));
    }
    // Another user is not affected.
    srv.user("calm").get("/v1/me").await.expect(200);
}

async fn parallel_requests_pass_exactly_the_ip_limit(b: Backend) {
    const LIMIT: i64 = 23;
    let srv = TestServer::start(b, |cfg| cfg.rate_limits.ip.minute = LIMIT).await;
    let anon = srv.anonymous();
    let first = burst_in_one_minute(60, |_, _| {
        let anon = anon.clone();
        async move { anon.get("/health").await }
    })
    .await;
    assert_eq!(count(&first, 200), LIMIT as usize);
    for res in first.iter().filter(|r| r.status == 429) {
        assert_rate_limited(res, LIMIT, Value::Null);
    }
}

backend_tests!(
    parallel_uploads_never_pass_the_quota,
    parallel_requests_pass_exactly_the_user_limit,
    parallel_requests_pass_exactly_the_ip_limit,
);
