//! The queue API over real HTTP: submit, status progression, results, cancel, URLs, auth.

mod common;

use common::*;
use iskra_fake_fal::Progress;
use serde_json::json;

#[tokio::test]
async fn submit_then_polls_then_result() {
    let fal = fake(Progress::Polls {
        queue_polls: 3,
        progress_polls: 2,
    })
    .await;
    let sub = submit(
        &fal,
        "fal-ai/flux/dev",
        json!({"prompt": "a red fox", "num_images": 2}),
    )
    .await;
    let id = sub["request_id"].as_str().unwrap();
    assert_eq!(sub["gateway_request_id"], id);
    assert_eq!(sub["queue_position"], 0);
    let response_url = sub["response_url"].as_str().unwrap();
    assert_eq!(
        response_url,
        format!("{}/q/fal-ai/flux/requests/{id}", fal.base_url())
    );
    assert_eq!(sub["status_url"], format!("{response_url}/status"));
    assert_eq!(sub["cancel_url"], format!("{response_url}/cancel"));

    // Not ready yet.
    let early = get(&fal, response_url).await;
    assert_eq!(early.status, 400);
    assert_eq!(early.json["detail"], "Request is still in progress");

    let status_url = sub["status_url"].as_str().unwrap();
    let mut positions = Vec::new();
    let mut codes = Vec::new();
    let mut seen = Vec::new();
    for _ in 0..6 {
        let a = get(&fal, status_url).await;
        codes.push(a.status);
        seen.push(a.json["status"].as_str().unwrap().to_string());
        positions.push(a.json["queue_position"].as_u64());
        assert_eq!(a.json["response_url"], response_url);
    }
    assert_eq!(
        seen,
        [
            "IN_QUEUE",
            "IN_QUEUE",
            "IN_QUEUE",
            "IN_PROGRESS",
            "IN_PROGRESS",
            "COMPLETED"
        ]
    );
    assert_eq!(&positions[..3], &[Some(2), Some(1), Some(0)]);
    assert_eq!(codes, [202, 202, 202, 202, 202, 200]);
    assert_eq!(fal.status_polls_for(id), 6);

    let out = get(&fal, response_url).await;
    assert_eq!(out.status, 200);
    let images = out.json["images"].as_array().unwrap();
    assert_eq!(images.len(), 2);
    assert_eq!(out.json["prompt"], "a red fox");
    assert_eq!(out.json["has_nsfw_concepts"], json!([false, false]));
    assert!(out.json["seed"].is_u64());
    let mut bodies = Vec::new();
    for img in images {
        assert_eq!(img["content_type"], "image/png");
        let (status, ct, bytes) = bytes(img["url"].as_str().unwrap()).await;
        assert_eq!((status, ct.as_deref()), (200, Some("image/png")));
        let info = iskra_media::probe_bytes(&bytes, 100_000_000).unwrap();
        assert_eq!((info.width, info.height), (64, 64));
        assert_eq!(img["width"], 64);
        let decoded = image::load_from_memory(&bytes).unwrap();
        assert_eq!(decoded.width(), 64);
        bodies.push(bytes);
    }
    assert_ne!(bodies[0], bodies[1], "each image of a batch differs");
    assert_eq!(fal.submits(), 1);
    assert_eq!(fal.submits_for_prompt("a red fox"), 1);
    assert_eq!(fal.result_fetches(), 2);
    assert_eq!(fal.naive_url_requests(), 0);
}

#[tokio::test]
async fn image_sizes_and_prompts_shape_the_pngs() {
    let fal = fake(Progress::Instant).await;
    let cases = [
        (json!("landscape_16_9"), (64, 36)),
        (json!("portrait_4_3"), (48, 64)),
        (json!({"width": 2048, "height": 1024}), (64, 32)),
        (json!({"width": 40, "height": 30}), (40, 30)),
    ];
    for (size, (w, h)) in cases {
        let sub = submit(
            &fal,
            "fal-ai/flux/dev",
            json!({"prompt": "p", "image_size": size}),
        )
        .await;
        let out = get(&fal, sub["response_url"].as_str().unwrap()).await.json;
        assert_eq!(
            (
                out["images"][0]["width"].as_u64(),
                out["images"][0]["height"].as_u64()
            ),
            (Some(w), Some(h))
        );
        let (_, _, png) = bytes(out["images"][0]["url"].as_str().unwrap()).await;
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (w as u32, h as u32));
    }
    let a = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "cat"})).await;
    let b = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "dog"})).await;
    let url = |v: serde_json::Value| v["images"][0]["url"].as_str().unwrap().to_string();
    let ua = url(get(&fal, a["response_url"].as_str().unwrap()).await.json);
    let ub = url(get(&fal, b["response_url"].as_str().unwrap()).await.json);
    assert_ne!(bytes(&ua).await.2, bytes(&ub).await.2);
    assert_eq!(bytes(&ua).await.2, bytes(&ua).await.2, "stable bytes");
}

#[tokio::test]
async fn video_models_answer_an_mp4() {
    let fal = fake(Progress::Instant).await;
    let model = "fal-ai/kling-video/v2.1/standard/image-to-video";
    let sub = submit(
        &fal,
        model,
        json!({"prompt": "waves", "image_url": "data:image/png;base64,AAAA"}),
    )
    .await;
    let response_url = sub["response_url"].as_str().unwrap();
    assert!(response_url.starts_with(&format!(
        "{}/q/fal-ai/kling-video/requests/",
        fal.base_url()
    )));
    let out = get(&fal, response_url).await.json;
    let video = &out["video"];
    assert_eq!(video["content_type"], "video/mp4");
    let (status, ct, mp4) = bytes(video["url"].as_str().unwrap()).await;
    assert_eq!((status, ct.as_deref()), (200, Some("video/mp4")));
    assert_eq!(video["file_size"].as_u64(), Some(mp4.len() as u64));
    let info = iskra_media::probe_bytes(&mp4, 100_000_000).unwrap();
    assert_eq!(info.mime, "video/mp4");
    assert!(info.duration_ms.unwrap() > 0);
    let recorded = fal.submission(sub["request_id"].as_str().unwrap()).unwrap();
    assert_eq!(recorded.model, model);
    assert!(recorded.input["image_url"]
        .as_str()
        .unwrap()
        .starts_with("data:"));
}

#[tokio::test]
async fn auth_is_required() {
    let fal = fake(Progress::Instant).await;
    let url = format!("{}/fal-ai/flux/dev", fal.queue_url());
    for auth in [
        None,
        Some("Key wrong".to_string()),
        Some(format!("Bearer {}", fal.key())),
    ] {
        let mut req = http().post(&url).json(&json!({"prompt": "x"}));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(body["detail"].is_string());
    }
    let sub = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "x"})).await;
    let resp = http()
        .get(sub["status_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(fal.submits(), 1);
}

#[tokio::test]
async fn rebuilt_urls_are_counted_and_can_be_refused() {
    let fal = fake(Progress::Instant).await;
    let sub = submit(
        &fal,
        "fal-ai/flux/dev/image-to-image",
        json!({"prompt": "x"}),
    )
    .await;
    let id = sub["request_id"].as_str().unwrap();
    let naive = format!(
        "{}/fal-ai/flux/dev/image-to-image/requests/{id}/status",
        fal.queue_url()
    );
    assert_eq!(get(&fal, &naive).await.json["status"], "COMPLETED");
    assert_eq!(fal.naive_url_requests(), 1);
    fal.set_strict_urls(true);
    assert_eq!(get(&fal, &naive).await.status, 404);
    assert_eq!(fal.naive_url_requests(), 2);
    // The given URL under another app does not resolve.
    let wrong = format!("{}/q/fal-ai/other/requests/{id}/status", fal.queue_url());
    assert_eq!(get(&fal, &wrong).await.status, 404);
    assert_eq!(
        get(&fal, sub["status_url"].as_str().unwrap()).await.status,
        200
    );
}

#[tokio::test]
async fn hold_and_release() {
    let fal = fake(Progress::Hold).await;
    let a = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "a"})).await;
    let b = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "b"})).await;
    let c = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "c"})).await;
    let st = |v: &serde_json::Value| v["status_url"].as_str().unwrap().to_string();
    assert_eq!(get(&fal, &st(&a)).await.json["status"], "IN_QUEUE");
    for _ in 0..3 {
        assert_eq!(get(&fal, &st(&a)).await.json["status"], "IN_PROGRESS");
    }
    assert_eq!(fal.pending_jobs(), 3);
    assert!(fal.release(a["request_id"].as_str().unwrap()));
    assert!(
        !fal.release(a["request_id"].as_str().unwrap()),
        "already done"
    );
    assert_eq!(get(&fal, &st(&a)).await.json["status"], "COMPLETED");
    assert_eq!(get(&fal, &st(&b)).await.json["status"], "IN_QUEUE");
    assert_eq!(fal.release_all(), 2);
    assert_eq!(get(&fal, &st(&b)).await.json["status"], "COMPLETED");
    assert_eq!(get(&fal, &st(&c)).await.json["status"], "COMPLETED");
    assert_eq!(fal.pending_jobs(), 0);
}

#[tokio::test]
async fn delay_completes_without_polls() {
    let fal = fake(Progress::Delay(std::time::Duration::from_millis(20))).await;
    let sub = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "later"})).await;
    let id = sub["request_id"].as_str().unwrap().to_string();
    assert!(
        fal.wait_until(WAIT, |f| f.is_completed(&id) == Some(true))
            .await
    );
    assert_eq!(fal.status_polls_for(&id), 0);
    assert_eq!(
        get(&fal, sub["response_url"].as_str().unwrap())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn progress_mode_is_per_job() {
    let fal = fake(Progress::Hold).await;
    let held = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "held"})).await;
    fal.set_progress(Progress::Instant);
    let quick = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "quick"})).await;
    assert_eq!(
        fal.is_completed(held["request_id"].as_str().unwrap()),
        Some(false)
    );
    assert_eq!(
        fal.is_completed(quick["request_id"].as_str().unwrap()),
        Some(true)
    );
    let seen = poll_to_completion(&fal, quick["status_url"].as_str().unwrap()).await;
    assert_eq!(seen, ["COMPLETED"]);
}

#[tokio::test]
async fn cancel_while_running_then_after_completion() {
    let fal = fake(Progress::Hold).await;
    let sub = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "stop"})).await;
    let id = sub["request_id"].as_str().unwrap();
    let cancel_url = sub["cancel_url"].as_str().unwrap();
    let a = put(&fal, cancel_url).await;
    assert_eq!(
        (a.status, a.json["status"].as_str()),
        (202, Some("CANCELLATION_REQUESTED"))
    );
    assert!(fal.is_cancelled(id));
    let again = put(&fal, cancel_url).await;
    assert_eq!(
        (again.status, again.json["status"].as_str()),
        (400, Some("ALREADY_COMPLETED"))
    );
    assert_eq!(
        get(&fal, sub["status_url"].as_str().unwrap()).await.json["status"],
        "COMPLETED"
    );
    assert_eq!(
        get(&fal, sub["response_url"].as_str().unwrap())
            .await
            .status,
        400
    );

    fal.set_progress(Progress::Instant);
    let done = submit(&fal, "fal-ai/flux/dev", json!({"prompt": "done"})).await;
    let a = put(&fal, done["cancel_url"].as_str().unwrap()).await;
    assert_eq!(
        (a.status, a.json["status"].as_str()),
        (400, Some("ALREADY_COMPLETED"))
    );
    let unknown = format!("{}/q/fal-ai/flux/requests/nope/cancel", fal.base_url());
    let a = put(&fal, &unknown).await;
    assert_eq!(
        (a.status, a.json["status"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    assert_eq!(fal.cancels_for(id), 2);
    assert_eq!(fal.cancels().len(), 4);
}

#[tokio::test]
async fn inputs_are_recorded() {
    let fal = fake(Progress::Hold).await;
    submit(
        &fal,
        "fal-ai/flux/dev/image-to-image",
        json!({
            "prompt": "again", "image_url": "https://cdn.example/x.png?sig=1", "num_images": 3,
            "image_size": "square_hd"
        }),
    )
    .await;
    submit(&fal, "fal-ai/flux/dev", json!({"prompt": "again"})).await;
    submit(&fal, "fal-ai/flux/dev", json!({"no_prompt": true})).await;
    assert_eq!(fal.submits(), 3);
    assert_eq!(fal.submits_for_prompt("again"), 2);
    let subs = fal.submissions();
    assert_eq!(subs[0].input["num_images"], 3);
    assert_eq!(subs[0].input["image_size"], "square_hd");
    assert_eq!(subs[0].webhook_url, None);
    // A body that is not a JSON object is refused and not counted.
    let resp = http()
        .post(format!("{}/fal-ai/flux/dev", fal.queue_url()))
        .header("authorization", format!("Key {}", fal.key()))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    assert_eq!(fal.submits(), 3);
    assert_eq!(fal.rejected_submits(), 1);
}
