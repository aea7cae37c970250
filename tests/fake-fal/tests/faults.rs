//! Failure injection and bad outputs over real HTTP.

mod common;

use common::*;
use futures::StreamExt as _;
use iskra_fake_fal::{DownMode, OutputMode, Progress, ResultFailure, Route, HUGE_LEN};
use serde_json::json;

#[tokio::test]
async fn fail_next_hits_the_next_requests_then_stops() {
    let fal = fake(Progress::Instant).await;
    fal.fail_next(2, 503);
    for _ in 0..2 {
        let a = submit_to(&fal, "fal-ai/flux/dev", json!({"prompt": "x"}), None).await;
        assert_eq!(a.status, 503);
        assert!(a.json["detail"].is_string());
    }
    assert_eq!(fal.submits(), 0, "failed submits never reached the queue");
    let sub = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "x"})).await;
    assert_eq!(fal.submits_for_prompt("x"), 1);
    assert_eq!(fal.injected_failures(), 2);

    // Aimed at one route: other requests pass.
    fal.fail_next_on(Route::Result, 1, 429);
    assert_eq!(
        get(&fal, sub["status_url"].as_str().unwrap()).await.status,
        200
    );
    assert_eq!(
        get(&fal, sub["response_url"].as_str().unwrap())
            .await
            .status,
        429
    );
    assert_eq!(
        get(&fal, sub["response_url"].as_str().unwrap())
            .await
            .status,
        200
    );
    fal.fail_next_on(Route::Jwks, 1, 500);
    assert_eq!(get(&fal, &fal.jwks_url()).await.status, 500);
    assert_eq!(get(&fal, &fal.jwks_url()).await.status, 200);
}

#[tokio::test]
async fn down_answers_503_or_closes_connections() {
    let fal = fake(Progress::Instant).await;
    fal.set_down(true);
    let a = submit_to(&fal, "fal-ai/flux/dev", json!({"prompt": "x"}), None).await;
    assert_eq!(a.status, 503);
    assert_eq!(get(&fal, &fal.jwks_url()).await.status, 503);
    fal.set_down_mode(DownMode::CloseConnection);
    let err = http()
        .post(format!("{}/fal-ai/flux/dev", fal.queue_url()))
        .header("authorization", format!("Key {}", fal.key()))
        .json(&json!({"prompt": "x"}))
        .send()
        .await;
    assert!(err.is_err(), "no answer while down: {err:?}");
    // A connection opened while up is closed on its next request too.
    fal.set_down(false);
    let client = http();
    assert!(client
        .get(fal.jwks_url())
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    fal.set_down_mode(DownMode::CloseConnection);
    assert!(client.get(fal.jwks_url()).send().await.is_err());
    fal.set_down(false);
    assert_eq!(
        submit_to(&fal, "fal-ai/flux/dev", json!({"prompt": "x"}), None)
            .await
            .status,
        200
    );
    assert_eq!(fal.submits(), 1);
}

#[tokio::test]
async fn rejected_submits_and_failed_results() {
    let fal = fake(Progress::Instant).await;
    let detail = json!([{"loc": ["body", "image_size"], "msg": "bad size", "type": "value_error"}]);
    fal.reject_submits(422, detail.clone());
    let a = submit_to(&fal, "fal-ai/flux/dev", json!({"prompt": "x"}), None).await;
    assert_eq!((a.status, &a.json["detail"]), (422, &detail));
    assert_eq!((fal.submits(), fal.rejected_submits()), (0, 1));
    fal.accept_submits();

    fal.fail_results(ResultFailure::Validation);
    let sub = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "x"})).await;
    assert_eq!(
        get(&fal, sub["status_url"].as_str().unwrap()).await.json["status"],
        "COMPLETED"
    );
    let r = get(&fal, sub["response_url"].as_str().unwrap()).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json["detail"][0]["type"], "value_error");
    assert!(r.json["detail"][0]["msg"].is_string());

    for status in [200, 500] {
        fal.fail_results(ResultFailure::ErrorBody { status });
        let sub = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "x"})).await;
        let r = get(&fal, sub["response_url"].as_str().unwrap()).await;
        assert_eq!(r.status, status);
        assert!(r.json["error"].is_string() && r.json["error_type"].is_string());
    }
}

#[tokio::test]
async fn unknown_status_once() {
    let fal = fake(Progress::Polls {
        queue_polls: 0,
        progress_polls: 1,
    })
    .await;
    let sub = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "x"})).await;
    let url = sub["status_url"].as_str().unwrap();
    fal.unknown_status_once();
    assert_eq!(get(&fal, url).await.json["status"], "WEIRD_NEW_STATE");
    assert_eq!(get(&fal, url).await.json["status"], "IN_PROGRESS");
    assert_eq!(get(&fal, url).await.json["status"], "COMPLETED");
}

async fn output_url(fal: &iskra_fake_fal::FakeFal, prompt: &str) -> String {
    let sub = submit(fal, "fal-ai/flux/dev", json!({"prompt": prompt})).await;
    let out = get(fal, sub["response_url"].as_str().unwrap()).await.json;
    out["images"][0]["url"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn bad_outputs() {
    let fal = fake(Progress::Instant).await;

    fal.set_output_mode(OutputMode::Html);
    let (status, ct, body) = bytes(&output_url(&fal, "html").await).await;
    assert_eq!((status, ct.as_deref()), (200, Some("image/png")));
    assert!(body.starts_with(b"<!doctype html>"));

    for (mode, code) in [(OutputMode::NotFound, 404), (OutputMode::ServerError, 500)] {
        fal.set_output_mode(mode);
        assert_eq!(bytes(&output_url(&fal, "gone").await).await.0, code);
    }

    fal.set_output_mode(OutputMode::Refused);
    let url = output_url(&fal, "refused").await;
    assert!(!url.starts_with(&fal.base_url()));
    let err = http().get(&url).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");

    for (mode, with_len) in [(OutputMode::Huge, true), (OutputMode::HugeChunked, false)] {
        fal.set_output_mode(mode);
        let resp = http()
            .get(output_url(&fal, "huge").await)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.content_length() == Some(HUGE_LEN), with_len);
        // Read the first few MB only, then drop the connection.
        let mut stream = resp.bytes_stream();
        let mut read = 0usize;
        let mut first = Vec::new();
        while read < 4 * 1024 * 1024 {
            let chunk = stream.next().await.unwrap().unwrap();
            if first.is_empty() {
                first = chunk.to_vec();
            }
            read += chunk.len();
        }
        assert!(first.starts_with(b"\x89PNG"));
    }

    // Back to normal: real PNGs again.
    fal.set_output_mode(OutputMode::Normal);
    let (_, _, png) = bytes(&output_url(&fal, "fine").await).await;
    assert!(image::load_from_memory(&png).is_ok());
}

#[tokio::test]
async fn many_jobs_in_parallel() {
    let fal = fake(Progress::Instant).await;
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let fal = fal.clone();
            tokio::spawn(async move {
                let sub = submit(
                    &fal,
                    "fal-ai/flux/dev",
                    json!({"prompt": format!("job {i}")}),
                )
                .await;
                let r = get(&fal, sub["response_url"].as_str().unwrap()).await;
                assert_eq!(r.status, 200);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(fal.submits(), 300);
    assert!((0..300).all(|i| fal.submits_for_prompt(&format!("job {i}")) == 1));
}
