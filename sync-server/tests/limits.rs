//! Limits under concurrency (S5, S6): parallel uploads never pass the storage quota together,
//! an over-limit user keeps reading, syncing and deleting, and N parallel requests against a
//! rate limit L let exactly L through with the 429 headers and body of docs/api.md — with the
//! in-process limiter (embedded) and the Redis one (scaled). The rate-limit cases run on a manual
//! clock: they cross a minute, an hour and midnight UTC by moving it, and know every `resetsAt`
//! and `Retry-After` exactly.

#[macro_use]
mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::media::png;
use common::replica::Replica;
use common::{Backend, ManualClock, Resp, TestServer, User};
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
    let blobs = srv.blobs().await;
    assert_eq!(blobs.len(), 10, "refused uploads left blobs: {blobs:?}");
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

/// An instant on the test's manual clock.
fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// What a 429 must say (docs/api.md), all of it known exactly on a manual clock.
#[derive(Clone)]
struct Refusal {
    window: &'static str,
    limit: i64,
    tier: Value,
    resets_at: &'static str,
    /// `Retry-After` and `RateLimit-Reset`, in seconds.
    reset_secs: i64,
}

/// Checks the headers and body of a 429 against `expected`.
fn assert_rate_limited(res: &Resp, expected: &Refusal) {
    let err = res.expect_error(429, "RATE_LIMITED");
    let header = |name: &str| {
        res.header(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .parse::<i64>()
            .expect(name)
    };
    assert_eq!(
        (
            header("retry-after"),
            header("ratelimit-reset"),
            header("ratelimit-limit"),
            header("ratelimit-remaining")
        ),
        (expected.reset_secs, expected.reset_secs, expected.limit, 0)
    );
    assert_eq!(
        (
            &err["window"],
            &err["limit"],
            &err["used"],
            &err["remaining"],
            &err["tier"]
        ),
        (
            &json!(expected.window),
            &json!(expected.limit),
            &json!(expected.limit),
            &json!(0),
            &expected.tier
        )
    );
    let resets = err["resetsAt"].as_str().expect("resetsAt");
    assert_eq!(at(resets), at(expected.resets_at), "resetsAt {resets}");
    assert_eq!(err["upgradeUrl"], "iskra://upgrade");
}

/// `n` parallel `GET /v1/me` of `user`: exactly `limit` pass, every other one is `refusal`.
async fn burst_passes_exactly(user: &User, n: usize, refusal: &Refusal) {
    let results = burst(n, |_| {
        let user = user.clone();
        async move { user.get("/v1/me").await }
    })
    .await;
    let limit = refusal.limit as usize;
    assert_eq!(
        (count(&results, 200), count(&results, 429)),
        (limit, n - limit)
    );
    for res in results.iter().filter(|r| r.status == 429) {
        assert_rate_limited(res, refusal);
    }
}

async fn parallel_requests_pass_exactly_the_user_limit(b: Backend) {
    const LIMIT: i64 = 37;
    let clock = ManualClock::new(at("2026-12-01T10:20:30Z"));
    let srv = TestServer::start_at(b, &clock, |cfg| cfg.rate_limits.user.minute = LIMIT).await;
    let busy = srv.user("busy");
    let refusal = Refusal {
        window: "minute",
        limit: LIMIT,
        tier: json!("free"),
        resets_at: "2026-12-01T10:21:00Z",
        reset_secs: 30,
    };
    burst_passes_exactly(&busy, 100, &refusal).await;
    // Another user is not affected.
    srv.user("calm").get("/v1/me").await.expect(200);
    // Still refused one second before the minute ends, with one second to wait.
    clock.advance(TimeDelta::seconds(29));
    let res = busy.get("/v1/me").await;
    assert_rate_limited(
        &res,
        &Refusal {
            reset_secs: 1,
            ..refusal.clone()
        },
    );
    // The next minute starts from zero.
    clock.advance(TimeDelta::seconds(1));
    let refusal = Refusal {
        resets_at: "2026-12-01T10:22:00Z",
        reset_secs: 60,
        ..refusal
    };
    burst_passes_exactly(&busy, 50, &refusal).await;
}

async fn hour_window_turns_on_the_hour(b: Backend) {
    let clock = ManualClock::new(at("2026-12-01T10:59:10Z"));
    let srv = TestServer::start_at(b, &clock, |cfg| {
        cfg.rate_limits.user.minute = 100;
        cfg.rate_limits.user.hour = 4;
    })
    .await;
    let user = srv.user("hourly");
    let refusal = Refusal {
        window: "hour",
        limit: 4,
        tier: json!("free"),
        resets_at: "2026-12-01T11:00:00Z",
        reset_secs: 50,
    };
    burst_passes_exactly(&user, 10, &refusal).await;
    clock.advance(TimeDelta::seconds(50));
    let refusal = Refusal {
        resets_at: "2026-12-01T12:00:00Z",
        reset_secs: 3600,
        ..refusal
    };
    burst_passes_exactly(&user, 10, &refusal).await;
}

async fn day_window_turns_at_midnight_utc(b: Backend) {
    let clock = ManualClock::new(at("2026-12-01T23:59:45Z"));
    let srv = TestServer::start_at(b, &clock, |cfg| {
        cfg.rate_limits.user.minute = 100;
        cfg.rate_limits.user.hour = 100;
        cfg.rate_limits.user.day = 3;
    })
    .await;
    let user = srv.user("daily");
    let refusal = Refusal {
        window: "day",
        limit: 3,
        tier: json!("free"),
        resets_at: "2026-12-02T00:00:00Z",
        reset_secs: 15,
    };
    burst_passes_exactly(&user, 8, &refusal).await;
    // One second before midnight: still the same day.
    clock.set(at("2026-12-01T23:59:59Z"));
    assert_rate_limited(
        &user.get("/v1/me").await,
        &Refusal {
            reset_secs: 1,
            ..refusal.clone()
        },
    );
    clock.set(at("2026-12-02T00:00:00Z"));
    let refusal = Refusal {
        resets_at: "2026-12-03T00:00:00Z",
        reset_secs: 86_400,
        ..refusal
    };
    burst_passes_exactly(&user, 8, &refusal).await;
}

async fn parallel_requests_pass_exactly_the_ip_limit(b: Backend) {
    const LIMIT: i64 = 23;
    let clock = ManualClock::new(at("2026-12-01T08:00:55Z"));
    let srv = TestServer::start_at(b, &clock, |cfg| cfg.rate_limits.ip.minute = LIMIT).await;
    let anon = srv.anonymous();
    let health = |n| {
        burst(n, |_| {
            let anon = anon.clone();
            async move { anon.get("/health").await }
        })
    };
    let first = health(60).await;
    assert_eq!(count(&first, 200), LIMIT as usize);
    let refusal = Refusal {
        window: "minute",
        limit: LIMIT,
        tier: Value::Null,
        resets_at: "2026-12-01T08:01:00Z",
        reset_secs: 5,
    };
    for res in first.iter().filter(|r| r.status == 429) {
        assert_rate_limited(res, &refusal);
    }
    clock.advance(TimeDelta::seconds(5));
    let second = health(30).await;
    assert_eq!(count(&second, 200), LIMIT as usize);
}

backend_tests!(
    parallel_uploads_never_pass_the_quota,
    parallel_requests_pass_exactly_the_user_limit,
    parallel_requests_pass_exactly_the_ip_limit,
    hour_window_turns_on_the_hour,
    day_window_turns_at_midnight_utc,
);
