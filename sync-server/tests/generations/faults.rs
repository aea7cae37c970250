//! fal misbehaving: an outage opens the circuit and jobs wait queued, then complete once fal
//! is back, each submitted once; webhooks with bad signatures or old timestamps are refused;
//! bad outputs and failed runs fail the job with a clear error and store nothing; an unknown
//! status is polled again; the watchdog ends stuck jobs.

use super::support::{fake, request_of, server, submit, text, wait_status};
use crate::common::{poll_until, Backend, TestServer, WAIT};
use iskra_fake_fal::{CraftedWebhook, OutputMode, Progress, ResultFailure, Tamper};
use serde_json::json;

async fn fal_outage_opens_the_circuit_and_jobs_wait(b: Backend) {
    let fal = fake(Progress::Instant).await;
    let srv = server(b, &fal, |cfg| {
        cfg.generation.circuit_failures = 2;
    })
    .await;
    srv.state
        .store
        .set_tier("alice", iskra_protocol::Tier::Pro)
        .await
        .unwrap();
    let alice = srv.user("alice");
    fal.set_down(true);
    let jobs: Vec<String> =
        futures::future::join_all((0..3).map(|i| submit(&alice, text(&format!("outage {i}")))))
            .await
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_owned())
            .collect();
    poll_until("/health reports fal down", || async {
        srv.anonymous().get("/health").await.json["checks"]["fal"] == "down"
    })
    .await;
    let health = srv.anonymous().get("/health").await;
    assert_eq!(health.status, 200, "fal's outage keeps the replica healthy");
    for id in &jobs {
        let g = alice
            .get(&format!("/v1/generations/{id}"))
            .await
            .expect(200)
            .clone();
        assert_eq!(g["status"], "queued", "jobs wait, not fail: {g}");
    }
    assert_eq!(fal.submits(), 0);
    fal.set_down(false);
    for id in &jobs {
        wait_status(&alice, id, "completed").await;
    }
    for i in 0..3 {
        assert_eq!(fal.submits_for_prompt(&format!("outage {i}")), 1);
    }
    poll_until("/health reports fal ok", || async {
        srv.anonymous().get("/health").await.json["checks"]["fal"] == "ok"
    })
    .await;
}

async fn webhooks_are_verified_before_anything_changes(b: Backend) {
    let fal = fake(Progress::Hold).await;
    fal.suppress_webhooks(true);
    let fal2 = fal.clone();
    let srv = TestServer::start_public(b, move |cfg| {
        super::support::wire(cfg, &fal2);
        cfg.generation.webhook_poll_secs = 3_600;
    })
    .await;
    let alice = srv.user("alice");
    let g = submit(&alice, text("signed only")).await;
    let id = g["id"].as_str().unwrap().to_owned();
    wait_status(&alice, &id, "running").await;
    poll_until("fal has the job", || async { fal.submits() == 1 }).await;
    let request = request_of(&fal, "signed only");
    let url = format!("{}/v1/webhooks/fal", srv.base);
    let payload = json!({"images": [{"url": format!("{}/nowhere.png", fal.base_url())}]});
    let now = iskra_fake_fal::unix_now();
    for (what, hook) in [
        (
            "bad signature",
            CraftedWebhook::ok(&request, payload.clone()).tamper(Tamper::BadSignature),
        ),
        (
            "another key",
            CraftedWebhook::ok(&request, payload.clone()).tamper(Tamper::WrongKey),
        ),
        (
            "no signature",
            CraftedWebhook::ok(&request, payload.clone()).tamper(Tamper::NoSignature),
        ),
        (
            "body changed after signing",
            CraftedWebhook::ok(&request, payload.clone()).tamper(Tamper::BodySwapped(
                b"{\"request_id\":\"x\",\"status\":\"OK\"}".to_vec(),
            )),
        ),
        (
            "10 minutes old",
            CraftedWebhook::ok(&request, payload.clone()).timestamp(now - 600),
        ),
        (
            "10 minutes ahead",
            CraftedWebhook::ok(&request, payload.clone()).timestamp(now + 600),
        ),
    ] {
        let rec = fal.deliver_webhook(&url, &hook).await;
        assert_eq!(rec.status, Some(401), "{what}");
    }
    let g = alice
        .get(&format!("/v1/generations/{id}"))
        .await
        .expect(200)
        .clone();
    assert_eq!(g["status"], "running", "nothing changed");
    // Signed, but not fal's shape: 400. Signed, about something unknown: 200, nothing changes.
    let mut shape = CraftedWebhook::ok(&request, json!({}));
    shape.raw_body = Some(b"[1,2,3]".to_vec());
    assert_eq!(fal.deliver_webhook(&url, &shape).await.status, Some(400));
    let unknown = CraftedWebhook::ok("not-a-request-of-ours", payload.clone());
    assert_eq!(fal.deliver_webhook(&url, &unknown).await.status, Some(200));
    // A genuine failure report (fal retried: another gateway id) fails the job with fal's words.
    let failed = CraftedWebhook::error(
        &request,
        422,
        json!({"detail": [{"loc": ["body", "prompt"], "msg": "prompt is not allowed", "type": "value_error"}]}),
    )
    .gateway_request_id("retried-gateway-id");
    assert_eq!(fal.deliver_webhook(&url, &failed).await.status, Some(200));
    let g = wait_status(&alice, &id, "failed").await;
    assert!(
        g["error"]["message"]
            .as_str()
            .unwrap()
            .contains("prompt is not allowed"),
        "{g}"
    );
    assert!(alice.list_all("/v1/assets", "").await.is_empty());
}

async fn bad_outputs_fail_the_job_and_store_nothing(b: Backend) {
    let fal = fake(Progress::Instant).await;
    let srv = server(b, &fal, |cfg| {
        cfg.rate_limits.generation_free.standard.minute = -1;
    })
    .await;
    let alice = srv.user("alice");
    let before = alice.storage().await;
    for (mode, expect) in [
        (OutputMode::Huge, "larger than"),
        (OutputMode::HugeChunked, "larger than"),
        (OutputMode::Html, "not a PNG"),
        (OutputMode::Refused, "connection refused"),
        (OutputMode::NotFound, "404"),
    ] {
        fal.set_output_mode(mode);
        let g = submit(&alice, text(&format!("bad output {mode:?}"))).await;
        let g = wait_status(&alice, g["id"].as_str().unwrap(), "failed").await;
        assert_eq!(g["error"]["code"], "BAD_OUTPUT", "{g}");
        let msg = g["error"]["message"].as_str().unwrap();
        assert!(msg.contains(expect), "{mode:?}: {msg}");
        assert!(
            !msg.contains(&fal.base_url()),
            "fal's URLs stay private: {msg}"
        );
    }
    assert!(alice.list_all("/v1/assets", "").await.is_empty());
    assert_eq!(alice.storage().await, before, "quota unchanged");
    assert!(srv.tmp_files().is_empty(), "no temporary file left");
    let blobs = srv.blobs().await;
    assert!(blobs.is_empty(), "no blob stored: {blobs:?}");

    // A run that failed at fal shows when the result is fetched, with fal's message.
    fal.set_output_mode(OutputMode::Normal);
    fal.fail_results(ResultFailure::Validation);
    let g = submit(&alice, text("fal says no")).await;
    let g = wait_status(&alice, g["id"].as_str().unwrap(), "failed").await;
    assert_eq!(g["error"]["code"], "FAL_FAILED");
    fal.fail_results(ResultFailure::ErrorBody { status: 500 });
    let g = submit(&alice, text("fal error body")).await;
    let g = wait_status(&alice, g["id"].as_str().unwrap(), "failed").await;
    assert_eq!(g["error"]["code"], "FAL_FAILED", "{g}");
    // fal refusing the input fails the job with its words, without retrying.
    fal.fail_results(ResultFailure::None);
    fal.reject_submits(422, json!([{"loc": ["body", "image_size"], "msg": "size not supported", "type": "value_error"}]));
    let g = submit(&alice, text("refused input")).await;
    let g = wait_status(&alice, g["id"].as_str().unwrap(), "failed").await;
    assert!(
        g["error"]["message"]
            .as_str()
            .unwrap()
            .contains("size not supported"),
        "{g}"
    );
    assert_eq!(fal.submits_for_prompt("refused input"), 0);
}

backend_tests!(
    fal_outage_opens_the_circuit_and_jobs_wait,
    webhooks_are_verified_before_anything_changes,
    bad_outputs_fail_the_job_and_store_nothing,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_fal_status_is_polled_again() {
    let fal = fake(Progress::Polls {
        queue_polls: 1,
        progress_polls: 2,
    })
    .await;
    fal.unknown_status_once();
    let srv = server(Backend::Embedded, &fal, |_| {}).await;
    let alice = srv.user("alice");
    let g = submit(&alice, text("odd status")).await;
    wait_status(&alice, g["id"].as_str().unwrap(), "completed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_watchdog_fails_stuck_jobs_and_cancels_them_at_fal() {
    let fal = fake(Progress::Hold).await;
    let srv = server(Backend::Embedded, &fal, |cfg| {
        cfg.generation.stuck_after_secs = 1;
    })
    .await;
    let alice = srv.user("alice");
    let g = submit(&alice, text("never ends")).await;
    let g = wait_status(&alice, g["id"].as_str().unwrap(), "failed").await;
    assert_eq!(g["error"]["code"], "STUCK", "{g}");
    let request = request_of(&fal, "never ends");
    assert!(fal.wait_until(WAIT, |f| f.cancels_for(&request) == 1).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_fal_key_generation_is_unavailable() {
    let srv = TestServer::default(Backend::Embedded).await;
    let health = srv.anonymous().get("/health").await;
    assert_eq!(health.json["checks"]["fal"], "unconfigured");
    let res = srv.user("alice").post("/v1/generations", &text("x")).await;
    res.expect_error(503, "GENERATION_UNAVAILABLE");
}
