//! Webhooks over real HTTP: fal's body shapes, the Ed25519 signature checked against the JWKS
//! with `verify_strict`, retries, duplicates, quirks and crafted deliveries.

mod common;

use common::*;
use iskra_fake_fal::{CraftedWebhook, Progress, ResultFailure, Tamper, PAYLOAD_ERROR};
use serde_json::json;

#[tokio::test]
async fn completion_webhook_is_signed_and_matches_the_result() {
    let fal = fake(Progress::Instant).await;
    let mut rx = Receiver::start().await;
    let key = jwks_key(&fal).await;
    assert_eq!(key.to_bytes(), fal.public_key());
    let sub = submit_to(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "hooked"}),
        Some(&rx.url),
    )
    .await;
    let id = sub.json["request_id"].as_str().unwrap();
    let w = rx.next().await;
    assert!(
        verifies(&key, &w),
        "signature verifies against the JWKS key"
    );
    assert_eq!(w.header("x-fal-webhook-request-id"), id);
    assert_eq!(w.header("x-fal-webhook-user-id"), fal.user_id());
    let ts: i64 = w.header("x-fal-webhook-timestamp").parse().unwrap();
    assert!((ts - iskra_fake_fal::unix_now()).abs() < 300);
    let body = w.json();
    assert_eq!(body["request_id"], id);
    assert_eq!(body["gateway_request_id"], id);
    assert_eq!(body["status"], "OK");
    let result = get(&fal, sub.json["response_url"].as_str().unwrap())
        .await
        .json;
    assert_eq!(body["payload"], result);
    assert!(fal.wait_until(WAIT, |f| f.webhooks_delivered() == 1).await);
    assert_eq!(
        fal.submission(id).unwrap().webhook_url.as_deref(),
        Some(rx.url.as_str())
    );
    assert_eq!(fal.status_polls(), 0);
    // Tampering with any signed part breaks it.
    let mut forged = common::Received {
        headers: w.headers.clone(),
        body: w.body.clone(),
    };
    forged.body = axum::body::Bytes::from(w.body.iter().copied().chain(*b" ").collect::<Vec<_>>());
    assert!(!verifies(&key, &forged));
}

#[tokio::test]
async fn failed_jobs_send_error_webhooks() {
    let fal = fake(Progress::Instant).await;
    let mut rx = Receiver::start().await;
    let key = jwks_key(&fal).await;
    fal.fail_results(ResultFailure::Validation);
    let sub = submit_to(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "bad"}),
        Some(&rx.url),
    )
    .await;
    let w = rx.next().await;
    assert!(verifies(&key, &w));
    let body = w.json();
    assert_eq!(body["status"], "ERROR");
    assert_eq!(body["error"], "Invalid status code: 422");
    assert_eq!(
        body["payload"]["detail"][0]["loc"],
        json!(["body", "prompt"])
    );
    let result = get(&fal, sub.json["response_url"].as_str().unwrap()).await;
    assert_eq!(result.status, 422);
    assert_eq!(result.json, body["payload"]);

    fal.fail_results(ResultFailure::ErrorBody { status: 500 });
    submit_to(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "worse"}),
        Some(&rx.url),
    )
    .await;
    let body = rx.next().await.json();
    assert_eq!(body["status"], "ERROR");
    assert_eq!(body["error"], "Invalid status code: 500");
    assert!(body["payload"]["error"].is_string());
    assert!(body["payload"]["error_type"].is_string());
}

#[tokio::test]
async fn webhook_on_release_and_after_delay() {
    let fal = fake(Progress::Hold).await;
    let mut rx = Receiver::start().await;
    let sub = submit_to(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "held"}),
        Some(&rx.url),
    )
    .await;
    let id = sub.json["request_id"].as_str().unwrap();
    assert!(rx.try_next().is_none());
    assert_eq!(fal.webhook_attempts_for(id), 0);
    fal.release(id);
    assert_eq!(rx.next().await.json()["request_id"], id);

    fal.set_progress(Progress::Delay(std::time::Duration::from_millis(10)));
    let sub = submit_to(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "later"}),
        Some(&rx.url),
    )
    .await;
    assert_eq!(rx.next().await.json()["request_id"], sub.json["request_id"]);
}

#[tokio::test]
async fn retries_on_errors_and_duplicates_on_request() {
    let fal = fake(Progress::Instant).await;
    let mut rx = Receiver::start().await;
    rx.fail_first.store(2, std::sync::atomic::Ordering::SeqCst);
    let sub = submit_to(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "retry"}),
        Some(&rx.url),
    )
    .await;
    let id = sub.json["request_id"].as_str().unwrap().to_string();
    for _ in 0..3 {
        assert_eq!(rx.next().await.json()["request_id"], id.as_str());
    }
    assert!(fal.wait_until(WAIT, |f| f.webhooks_delivered() == 1).await);
    let attempts: Vec<_> = fal
        .webhooks()
        .iter()
        .map(|w| (w.attempt, w.status))
        .collect();
    assert_eq!(attempts, [(1, Some(500)), (2, Some(500)), (3, Some(200))]);

    // A receiver that always fails gets a bounded number of attempts.
    rx.fail_first
        .store(100, std::sync::atomic::Ordering::SeqCst);
    let sub = submit_to(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "never"}),
        Some(&rx.url),
    )
    .await;
    let id2 = sub.json["request_id"].as_str().unwrap().to_string();
    assert!(
        fal.wait_until(WAIT, |f| f.webhook_attempts_for(&id2) == 4)
            .await
    );
    rx.fail_first.store(0, std::sync::atomic::Ordering::SeqCst);
    while rx.try_next().is_some() {}

    fal.duplicate_webhooks(3);
    let sub = submit_to(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "thrice"}),
        Some(&rx.url),
    )
    .await;
    let id3 = sub.json["request_id"].as_str().unwrap().to_string();
    let bodies: Vec<_> = [rx.next().await, rx.next().await, rx.next().await]
        .into_iter()
        .map(|w| w.body)
        .collect();
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "the same body each time"
    );
    assert!(
        fal.wait_until(WAIT, |f| f.webhook_attempts_for(&id3) == 3)
            .await
    );
}

#[tokio::test]
async fn quirks_payload_error_gateway_id_and_suppression() {
    let fal = fake(Progress::Instant).await;
    let mut rx = Receiver::start().await;
    let key = jwks_key(&fal).await;
    fal.webhook_payload_error(true);
    fal.webhook_gateway_retry(true);
    let sub = submit_to(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "odd"}),
        Some(&rx.url),
    )
    .await;
    let w = rx.next().await;
    assert!(verifies(&key, &w));
    let body = w.json();
    assert_eq!(body["status"], "OK");
    assert!(body["payload"].is_null());
    assert_eq!(body["payload_error"], PAYLOAD_ERROR);
    assert_eq!(body["request_id"], sub.json["request_id"]);
    assert_ne!(body["gateway_request_id"], body["request_id"]);
    // The result itself is still there.
    let result = get(&fal, sub.json["response_url"].as_str().unwrap()).await;
    assert_eq!(result.status, 200);

    fal.suppress_webhooks(true);
    let sub = submit_to(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "quiet"}),
        Some(&rx.url),
    )
    .await;
    let id = sub.json["request_id"].as_str().unwrap();
    assert_eq!(fal.is_completed(id), Some(true));
    assert_eq!(fal.webhook_attempts_for(id), 0);
    // It can still be replayed by hand, correctly signed.
    let replay = fal.completed_webhook(id).unwrap();
    let rec = fal.deliver_webhook(&rx.url, &replay).await;
    assert_eq!(rec.status, Some(200));
    assert!(rec.crafted);
    assert!(verifies(&key, &rx.next().await));
}

#[tokio::test]
async fn crafted_webhooks_carry_their_defects() {
    let fal = fake(Progress::Instant).await;
    let mut rx = Receiver::start().await;
    let key = jwks_key(&fal).await;
    let payload = json!({"images": []});
    let good = CraftedWebhook::ok("req-1", payload.clone());
    fal.deliver_webhook(&rx.url, &good).await;
    assert!(verifies(&key, &rx.next().await));

    for tamper in [
        Tamper::BadSignature,
        Tamper::WrongKey,
        Tamper::NoSignature,
        Tamper::BodySwapped(b"{}".to_vec()),
    ] {
        let w = CraftedWebhook::ok("req-1", payload.clone()).tamper(tamper.clone());
        let rec = fal.deliver_webhook(&rx.url, &w).await;
        assert_eq!(rec.attempt, 1);
        assert!(!verifies(&key, &rx.next().await), "{tamper:?}");
    }

    let old = CraftedWebhook::ok("req-1", payload.clone()).timestamp(1_000);
    fal.deliver_webhook(&rx.url, &old).await;
    let w = rx.next().await;
    assert_eq!(w.header("x-fal-webhook-timestamp"), "1000");
    assert!(verifies(&key, &w), "old but genuinely signed");

    let retried =
        CraftedWebhook::error("req-2", 422, json!({"detail": []})).gateway_request_id("gw-9");
    fal.deliver_webhook(&rx.url, &retried).await;
    let body = rx.next().await.json();
    assert_eq!(
        (
            body["request_id"].as_str(),
            body["gateway_request_id"].as_str()
        ),
        (Some("req-2"), Some("gw-9"))
    );
    assert_eq!(body["error"], "Invalid status code: 422");

    fal.deliver_webhook(&rx.url, &CraftedWebhook::payload_error("req-3"))
        .await;
    let body = rx.next().await.json();
    assert!(body["payload"].is_null() && body["payload_error"].is_string());

    // sign_webhook gives headers that verify for any body.
    let headers = fal.sign_webhook("req-4", b"raw", 42);
    let mut map = axum::http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let w = common::Received {
        headers: map,
        body: axum::body::Bytes::from_static(b"raw"),
    };
    assert!(verifies(&key, &w));
    assert_eq!(
        fal.webhooks_delivered(),
        0,
        "crafted deliveries are not job deliveries"
    );
}

#[tokio::test]
async fn unreachable_receivers_are_recorded() {
    let fal = fake(Progress::Instant).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let sub = submit_to(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "void"}),
        Some(&dead),
    )
    .await;
    let id = sub.json["request_id"].as_str().unwrap().to_string();
    assert!(
        fal.wait_until(WAIT, |f| f.webhook_attempts_for(&id) == 4)
            .await
    );
    assert!(fal
        .webhooks()
        .iter()
        .all(|w| w.status.is_none() && w.error.is_some()));
}
