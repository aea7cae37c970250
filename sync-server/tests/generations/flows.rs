//! Whole flows: a prompt becomes the user's asset and lands on the project's canvas where the
//! placeholder stood, by polling and by webhook; a second device gets it through sync; two
//! replicas run 200 jobs exactly once; cancel of a queued and of a running job.

use super::support::{fake, placeholder, request_of, server, submit, text, wait_status};
use crate::common::sse::EventStream;
use crate::common::{poll_until, Backend, WAIT};
use futures::future::join_all;
use iskra_fake_fal::Progress;
use serde_json::{json, Value};
use std::collections::HashSet;
use uuid::Uuid;

/// Checks a completed job: its outputs are generated assets of the user, and the canvas shows
/// them where the placeholder was, with the placeholder gone.
async fn assert_landed(user: &crate::common::User, project: Uuid, ph: Uuid, g: &Value, n: usize) {
    let outputs = g["outputs"].as_array().expect("outputs");
    assert_eq!(outputs.len(), n, "{g}");
    for out in outputs {
        assert_eq!(out["source"], "generation");
        assert_eq!(out["generation"]["generationId"], g["id"]);
        assert_eq!(out["generation"]["prompt"], g["prompt"]);
        assert_eq!(out["generation"]["model"], "fal-ai/flux/dev");
        assert!(
            out["url"].as_str().unwrap().contains("/files/"),
            "a signed URL of ours"
        );
        let asset = user
            .get(&format!("/v1/assets/{}", out["id"].as_str().unwrap()))
            .await;
        asset.expect(200);
    }
    let canvas = user.project(project).await["canvas"]["elements"].clone();
    let elements = canvas.as_array().unwrap();
    assert!(
        elements.iter().all(|e| e["id"] != json!(ph)),
        "the placeholder is gone: {canvas}"
    );
    let placed: Vec<&Value> = elements
        .iter()
        .filter(|e| e["generationId"] == g["id"] && e["kind"] == "image")
        .collect();
    assert_eq!(placed.len(), n, "{canvas}");
    assert_eq!(placed[0]["y"], json!(40.0));
    assert_eq!(placed[0]["height"], json!(256.0));
    let xs: HashSet<String> = placed.iter().map(|e| e["x"].to_string()).collect();
    assert_eq!(xs.len(), n, "outputs side by side: {canvas}");
    let ids: HashSet<&str> = outputs.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert!(placed
        .iter()
        .all(|e| ids.contains(e["assetId"].as_str().unwrap())));
}

async fn completes_by_polling_and_lands_on_every_device(b: Backend) {
    let fal = fake(Progress::Polls {
        queue_polls: 2,
        progress_polls: 1,
    })
    .await;
    let srv = server(b, &fal, |_| {}).await;
    let alice = srv.user("alice");
    let project = alice.new_project().await;
    let ph = placeholder(&alice, project, 100.0, 40.0).await;
    let mut events = EventStream::open(&alice, None).await;
    let body = json!({
        "kind": "text-to-image", "prompt": "a lighthouse at dusk", "projectId": project,
        "elementId": ph, "params": {"numImages": 2, "imageSize": "landscape_4_3"}
    });
    let g = submit(&alice, body).await;
    assert_eq!(g["status"], "queued");
    assert_eq!(g["model"], "fal-ai/flux/dev");
    let id = g["id"].as_str().unwrap().to_owned();
    let done = wait_status(&alice, &id, "completed").await;
    assert_landed(&alice, project, ph, &done, 2).await;

    // fal got the mapped input, at the URLs it gave (never rebuilt).
    let sub = fal
        .submission(&request_of(&fal, "a lighthouse at dusk"))
        .unwrap();
    assert_eq!(sub.input["num_images"], 2);
    assert_eq!(sub.input["image_size"], "landscape_4_3");
    assert!(sub.webhook_url.is_none(), "no public URL: polling");
    assert_eq!(fal.naive_url_requests(), 0);

    // Every state change was pushed, ending with the completion.
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("completed") {
        let ev = events.next_named("generation.updated").await;
        assert_eq!(ev.data["generation"]["id"], json!(id));
        seen.push(ev.data["generation"]["status"].as_str().unwrap().to_owned());
    }
    assert!(seen.contains(&"running".to_owned()), "{seen:?}");

    // A second device that was not connected gets the result by ordinary sync.
    let pulled = alice
        .get(&format!("/v1/projects/{project}/changes"))
        .await
        .expect(200)
        .clone();
    let outputs: Vec<&str> = done["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    for sha in outputs {
        assert!(
            pulled["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["set"]["assetId"] == sha),
            "the change log carries output {sha}"
        );
    }
    // Outputs count against storage.
    let storage = alice.storage().await;
    assert_eq!(storage["images"], 2);
    assert!(fal.submits() == 1, "one submit");
}

async fn completes_by_webhook_once_whatever_fal_repeats(b: Backend) {
    let fal = fake(Progress::Instant).await;
    fal.duplicate_webhooks(3);
    // The server knows its public URL, so fal calls back; polling is only a far fallback:
    // completion must come from the webhook.
    let fal2 = fal.clone();
    let srv = crate::common::TestServer::start_public(b, move |cfg| {
        super::support::wire(cfg, &fal2);
        cfg.generation.webhook_poll_secs = 3_600;
    })
    .await;
    let alice = srv.user("alice");
    let project = alice.new_project().await;
    let ph = placeholder(&alice, project, 0.0, 40.0).await;
    let body = json!({
        "kind": "text-to-image", "prompt": "webhook fox", "projectId": project, "elementId": ph
    });
    let g = submit(&alice, body).await;
    let id = g["id"].as_str().unwrap().to_owned();
    let done = wait_status(&alice, &id, "completed").await;
    assert_landed(&alice, project, ph, &done, 1).await;
    let request = request_of(&fal, "webhook fox");
    let sub = fal.submission(&request).unwrap();
    assert_eq!(
        sub.webhook_url.as_deref(),
        Some(format!("{}/v1/webhooks/fal", srv.base).as_str())
    );
    assert_eq!(
        fal.status_polls_for(&request),
        0,
        "the result came by webhook"
    );
    // All three deliveries were answered 200; one asset, one completion.
    assert!(
        fal.wait_until(WAIT, |f| f.webhook_attempts_for(&request) >= 3)
            .await,
        "fal delivered three times"
    );
    assert!(fal
        .webhooks()
        .iter()
        .filter(|w| w.request_id == request)
        .all(|w| w.status == Some(200)));
    assert_eq!(alice.list_all("/v1/assets", "").await.len(), 1);
    // A replay of the signed webhook later changes nothing either.
    let replay = fal.completed_webhook(&request).expect("webhook body");
    let rec = fal
        .deliver_webhook(&format!("{}/v1/webhooks/fal", srv.base), &replay)
        .await;
    assert_eq!(rec.status, Some(200));
    let again = alice
        .get(&format!("/v1/generations/{id}"))
        .await
        .expect(200)
        .clone();
    assert_eq!(again["completedAt"], done["completedAt"]);
    assert_eq!(alice.list_all("/v1/assets", "").await.len(), 1);
    assert_eq!(alice.storage().await["images"], 1);
}

async fn cancel_of_queued_and_running_jobs(b: Backend) {
    let fal = fake(Progress::Hold).await;
    let srv = server(b, &fal, |_| {}).await;
    let alice = srv.user("alice");
    // Free tier: one running at once, so the second waits queued.
    let first = submit(&alice, text("cancel running")).await;
    let second = submit(&alice, text("cancel queued")).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let second_id = second["id"].as_str().unwrap().to_owned();
    wait_status(&alice, &first_id, "running").await;
    let queued = alice
        .get(&format!("/v1/generations/{second_id}"))
        .await
        .expect(200)
        .clone();
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["queuePosition"], 0);

    let c = alice.delete(&format!("/v1/generations/{second_id}")).await;
    assert_eq!(c.expect(200)["status"], "canceled");
    assert_eq!(
        fal.submits_for_prompt("cancel queued"),
        0,
        "never sent to fal"
    );

    poll_until("the running job is at fal", || async {
        fal.submits_for_prompt("cancel running") == 1
    })
    .await;
    let request = request_of(&fal, "cancel running");
    let c = alice.delete(&format!("/v1/generations/{first_id}")).await;
    assert_eq!(c.expect(200)["status"], "canceled");
    assert_eq!(fal.cancels_for(&request), 1, "fal's cancel URL was called");
    // Finished jobs cannot be canceled again; others' ids are not found.
    alice
        .delete(&format!("/v1/generations/{first_id}"))
        .await
        .expect_error(409, "CONFLICT");
    srv.user("bob")
        .delete(&format!("/v1/generations/{second_id}"))
        .await
        .expect_error(404, "NOT_FOUND");
    // The slot was given back: a new job runs.
    let third = submit(&alice, text("after cancel")).await;
    wait_status(&alice, third["id"].as_str().unwrap(), "running").await;
}

async fn two_replicas_run_each_job_exactly_once(b: Backend) {
    if b == Backend::Embedded {
        return; // replicas share PostgreSQL, S3 and Redis: the scaled run below
    }
    let fal = fake(Progress::Instant).await;
    let a = server(b, &fal, |cfg| {
        cfg.generation.workers = 8;
        cfg.rate_limits.generation_enterprise.standard.minute = -1;
        cfg.rate_limits.generation_enterprise.standard.hour = -1;
    })
    .await;
    let replica = a.replica().await;
    let users: Vec<_> = (0..4).map(|i| format!("rep-{i}")).collect();
    for u in &users {
        a.state
            .store
            .set_tier(u, iskra_protocol::Tier::Enterprise)
            .await
            .unwrap();
    }
    let watcher = a.user(&users[0]);
    let mut events = EventStream::open(&watcher, None).await;
    let submits = (0..200).map(|i| {
        let srv = if i % 2 == 0 { &a } else { &replica };
        let user = srv.user(&users[i % users.len()]);
        async move { submit(&user, text(&format!("replica job {i}"))).await }
    });
    let jobs = join_all(submits).await;
    assert_eq!(jobs.len(), 200);
    for (i, g) in jobs.iter().enumerate() {
        let user = a.user(&users[i % users.len()]);
        wait_status(&user, g["id"].as_str().unwrap(), "completed").await;
    }
    assert_eq!(fal.submits(), 200, "each job submitted to fal exactly once");
    for i in 0..200 {
        assert_eq!(fal.submits_for_prompt(&format!("replica job {i}")), 1);
    }
    // The watcher on replica A saw completions of jobs that replica B's workers ran too.
    let mut completed = HashSet::new();
    let mine = jobs
        .iter()
        .enumerate()
        .filter(|(i, _)| i % users.len() == 0)
        .count();
    while completed.len() < mine {
        let ev = events.next_named("generation.updated").await;
        if ev.data["generation"]["status"] == "completed" {
            completed.insert(ev.data["generation"]["id"].as_str().unwrap().to_owned());
        }
    }
    let slots: Vec<(i64,)> = sqlx::query_as("SELECT gen_running FROM users")
        .fetch_all(a.state.store.pool())
        .await
        .unwrap();
    assert!(
        slots.iter().all(|(n,)| *n == 0),
        "every slot given back: {slots:?}"
    );
}

backend_tests!(
    completes_by_polling_and_lands_on_every_device,
    completes_by_webhook_once_whatever_fal_repeats,
    cancel_of_queued_and_running_jobs,
    two_replicas_run_each_job_exactly_once,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn image_inputs_reach_fal_inline_through_storage_or_by_signed_url() {
    use crate::common::media;
    let fal = fake(Progress::Instant).await;
    let srv = server(Backend::Embedded, &fal, |cfg| {
        cfg.generation.max_inline_input_bytes = 2_000;
    })
    .await;
    let alice = srv.user("alice");
    let small = media::png(8, 8, 1);
    let large = media::png(200, 200, 2);
    assert!(small.len() < 2_000 && large.len() > 2_000);
    for bytes in [&small, &large] {
        alice.upload(bytes, "image/png").await;
    }
    let sha = |b: &[u8]| media::sha256_hex(b);
    let body = |prompt: &str, asset: String| json!({"kind": "image-to-image", "prompt": prompt, "imageAssetId": asset});
    let g = submit(&alice, body("inline", sha(&small))).await;
    wait_status(&alice, g["id"].as_str().unwrap(), "completed").await;
    let sub = fal.submission(&request_of(&fal, "inline")).unwrap();
    assert_eq!(sub.model, "fal-ai/flux/dev/image-to-image");
    assert!(sub.input["image_url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));

    let g = submit(&alice, body("uploaded", sha(&large))).await;
    wait_status(&alice, g["id"].as_str().unwrap(), "completed").await;
    let sub = fal.submission(&request_of(&fal, "uploaded")).unwrap();
    let uploads = fal.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].len, large.len());
    assert_eq!(sub.input["image_url"], json!(uploads[0].file_url));

    // With a public URL, fal reads the input from a signed URL of this server.
    drop(srv);
    let srv2 = server(Backend::Embedded, &fal, |cfg| {
        // A loopback address where nothing listens: only the URL is checked.
        cfg.public_url = Some("http://127.0.0.1:9".into());
        cfg.generation.webhook_poll_secs = 3_600;
    })
    .await;
    let bob = srv2.user("bob");
    bob.upload(&small, "image/png").await;
    submit(&bob, body("signed", sha(&small))).await;
    poll_until("fal got the signed request", || async {
        fal.submits_for_prompt("signed") == 1
    })
    .await;
    let sub = fal.submission(&request_of(&fal, "signed")).unwrap();
    assert!(sub.input["image_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:9/files/"));
}
