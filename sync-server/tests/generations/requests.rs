//! Submitting: the S6 windows (exactly the limit passes under 100 parallel submits, with the
//! docs/api.md 429 body and headers), `Idempotency-Key` (parallel retries make one job; another body
//! with the key is a conflict), bad requests, other users' ids, the model catalogue, the list.

use super::support::{fake, server, submit, text, wire};
use crate::common::{assert_error_shape, media, Backend, ManualClock, TestServer};
use futures::future::join_all;
use iskra_fake_fal::Progress;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;

async fn parallel_submits_pass_exactly_the_window(b: Backend) {
    let fal = fake(Progress::Hold).await;
    // The limiter's clock stands 20 s before the end of a minute: one window for the burst.
    let clock = ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-12-01T10:20:40Z")
            .unwrap()
            .to_utc(),
    );
    let srv = TestServer::start_at(b, &clock, |cfg| wire(cfg, &fal)).await;
    let alice = srv.user("alice");
    let results = join_all((0..100).map(|i| {
        let alice = alice.clone();
        async move {
            alice
                .post("/v1/generations", &text(&format!("burst {i}")))
                .await
        }
    }))
    .await;
    let accepted = results.iter().filter(|r| r.status == 202).count();
    assert_eq!(accepted, 5, "the free minute window is 5");
    for r in results.iter().filter(|r| r.status != 202) {
        let e = r.expect_error(429, "RATE_LIMITED");
        assert_eq!(e["window"], "minute");
        assert_eq!(
            (
                e["limit"].clone(),
                e["used"].clone(),
                e["remaining"].clone()
            ),
            (json!(5), json!(5), json!(0))
        );
        assert_eq!(e["tier"], "free");
        assert_eq!(e["resetsAt"], "2026-12-01T10:21:00Z");
        assert!(e["upgradeUrl"].is_string());
        for (h, value) in [
            ("retry-after", "20"),
            ("ratelimit-limit", "5"),
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "20"),
        ] {
            assert_eq!(r.header(h), Some(value), "{h}");
        }
    }
    let listed = alice.list_all("/v1/generations", "").await;
    assert_eq!(listed.len(), 5);
    let quota = alice.get("/v1/quota").await.expect(200).clone();
    let minute = &quota["generation"]["standard"][0];
    assert_eq!(
        (minute["used"].clone(), minute["remaining"].clone()),
        (json!(5), json!(0))
    );
}

async fn one_idempotency_key_makes_one_job(b: Backend) {
    let fal = fake(Progress::Hold).await;
    let srv = server(b, &fal, |_| {}).await;
    let alice = srv.user("alice");
    let body = text("only once");
    let results = join_all((0..20).map(|_| {
        let req = alice
            .request(Method::POST, "/v1/generations")
            .header("idempotency-key", "gen-key-1")
            .json(&body);
        crate::common::send(req)
    }))
    .await;
    let ids: HashSet<String> = results
        .iter()
        .map(|r| r.expect(202)["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "every retry answers the first generation");
    assert_eq!(alice.list_all("/v1/generations", "").await.len(), 1);
    let quota = alice.get("/v1/quota").await.expect(200).clone();
    assert_eq!(
        quota["generation"]["standard"][0]["used"], 1,
        "counted once"
    );
    let other = alice
        .request(Method::POST, "/v1/generations")
        .header("idempotency-key", "gen-key-1")
        .json(&text("something else"));
    crate::common::send(other)
        .await
        .expect_error(409, "CONFLICT");
}

async fn bad_requests_are_refused_and_change_nothing(b: Backend) {
    let fal = fake(Progress::Hold).await;
    let srv = server(b, &fal, |_| {}).await;
    let (alice, bob) = (srv.user("alice"), srv.user("bob"));
    let video = media::mp4(64, 64);
    alice.upload(&video, "video/mp4").await.expect(201);
    let image = media::png(16, 16, 3);
    bob.upload(&image, "image/png").await.expect(201);
    let bobs_project = bob.new_project().await;
    let long = "x".repeat(4_001);
    let cases: Vec<(Value, u16)> = vec![
        (json!({"kind": "text-to-image", "prompt": ""}), 422),
        (json!({"kind": "text-to-image", "prompt": long}), 422),
        (
            json!({"kind": "text-to-image", "prompt": "p", "params": {"numImages": 0}}),
            422,
        ),
        (
            json!({"kind": "text-to-image", "prompt": "p", "params": {"numImages": 9}}),
            422,
        ),
        (
            json!({"kind": "text-to-image", "prompt": "p", "params": {"imageSize": "huge"}}),
            422,
        ),
        (
            json!({"kind": "text-to-image", "prompt": "p", "model": "fal-ai/nope"}),
            422,
        ),
        (
            json!({"kind": "text-to-image", "prompt": "p", "model": "fal-ai/flux/dev/image-to-image"}),
            422,
        ),
        (json!({"kind": "painting", "prompt": "p"}), 422),
        (
            json!({"kind": "text-to-image", "prompt": "p", "surprise": true}),
            422,
        ),
        (json!({"kind": "image-to-image", "prompt": "p"}), 422),
        (
            json!({"kind": "image-to-image", "prompt": "p", "imageAssetId": media::sha256_hex(&image)}),
            404,
        ),
        (
            json!({"kind": "image-to-video", "prompt": "p", "imageAssetId": media::sha256_hex(&video)}),
            422,
        ),
        (
            json!({"kind": "text-to-image", "prompt": "p", "projectId": bobs_project}),
            404,
        ),
        (
            json!({"kind": "text-to-image", "prompt": "p", "elementId": bobs_project}),
            422,
        ),
    ];
    for (body, status) in cases {
        let res = alice.post("/v1/generations", &body).await;
        assert_eq!(res.status, status, "{body} → {}", res.json);
        assert_error_shape(&res.json);
    }
    let raw = alice
        .request(Method::POST, "/v1/generations")
        .header("content-type", "application/json")
        .body("{not json");
    assert_eq!(crate::common::send(raw).await.status, 400);
    assert_eq!(
        srv.anonymous()
            .post(
                "/v1/generations",
                &json!({"kind": "image-to-video", "prompt": "p"})
            )
            .await
            .status,
        401
    );
    assert!(alice.list_all("/v1/generations", "").await.is_empty());
    assert_eq!(fal.submits(), 0);
    let quota = alice.get("/v1/quota").await.expect(200).clone();
    assert_eq!(
        quota["generation"]["standard"][0]["used"], 0,
        "nothing counted"
    );
}

async fn jobs_are_private_listed_and_the_catalogue_is_served(b: Backend) {
    let fal = fake(Progress::Hold).await;
    let srv = server(b, &fal, |cfg| {
        cfg.rate_limits.generation_free.standard.minute = -1;
        cfg.rate_limits.generation_free.standard.hour = -1;
        cfg.rate_limits.generation_free.standard.day = -1;
    })
    .await;
    let (alice, bob) = (srv.user("alice"), srv.user("bob"));
    let models = alice.get("/v1/models").await.expect(200).clone();
    let items = models["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().any(
        |m| m["id"] == "fal-ai/kling-video/v2.1/standard/image-to-video"
            && m["kind"] == "image-to-video"
            && m["default"] == true
    ));
    let project = alice.new_project().await;
    let mut ids = Vec::new();
    for i in 0..25 {
        let mut body = text(&format!("listed {i}"));
        if i % 5 == 0 {
            body["projectId"] = json!(project);
        }
        ids.push(
            submit(&alice, body).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let all = alice.list_all("/v1/generations", "limit=7").await;
    assert_eq!(all.len(), 25);
    let listed: HashSet<&str> = all.iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(
        listed,
        ids.iter().map(String::as_str).collect::<HashSet<_>>()
    );
    let times: Vec<&str> = all
        .iter()
        .map(|g| g["createdAt"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let in_project = alice
        .list_all("/v1/generations", &format!("projectId={project}"))
        .await;
    assert_eq!(in_project.len(), 5);
    let queued = alice.list_all("/v1/generations", "status=queued").await;
    assert_eq!(queued.len(), 24, "free tier: one runs, the rest wait");
    assert_eq!(queued.last().unwrap()["queuePosition"], 0);
    assert_eq!(queued[0]["queuePosition"], 23);
    alice
        .get("/v1/generations?status=done")
        .await
        .expect_error(422, "VALIDATION_FAILED");
    alice
        .get("/v1/generations?cursor=nope")
        .await
        .expect_error(422, "VALIDATION_FAILED");
    // Another user's ids answer 404, exactly like ids that do not exist.
    for path in [
        format!("/v1/generations/{}", ids[0]),
        format!("/v1/generations/{}", uuid::Uuid::new_v4()),
    ] {
        bob.get(&path).await.expect_error(404, "NOT_FOUND");
        bob.delete(&path).await.expect_error(404, "NOT_FOUND");
    }
    assert!(bob.list_all("/v1/generations", "").await.is_empty());
}

backend_tests!(
    parallel_submits_pass_exactly_the_window,
    one_idempotency_key_makes_one_job,
    bad_requests_are_refused_and_change_nothing,
    jobs_are_private_listed_and_the_catalogue_is_served,
);
