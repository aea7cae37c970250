//! `user.deleted`: two users with projects, canvas changes, assets (one with the same bytes in
//! both accounts), generations through the fake fal (one completed, one still running at fal),
//! idempotency records and credits; deleting one removes every row of it in every table with
//! a `user_id` and every blob under its storage prefix, cancels its running job at fal, ends
//! its event stream without another event, and leaves the other user exactly as it was, shared
//! content included. The same event again, or another delivery of it, changes nothing; a later
//! `user.created` for the id does not bring anything back.

use super::support::{assert_empty, assert_filled, Inspect};
use crate::common::media::{png, sha256_hex};
use crate::common::sse::EventStream;
use crate::common::svix::{new_secret, user_deleted, user_event, ClerkSender};
use crate::common::{poll_until, Backend, TestServer, User};
use crate::generation_support::wire;
use iskra_fake_fal::{FakeConfig, FakeFal, Progress};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

/// fal's request id of the job with `prompt`, once fal has it.
async fn request_of(fal: &FakeFal, prompt: &str) -> String {
    let mut found = None;
    poll_until(&format!("fal has the job {prompt:?}"), || {
        found = fal
            .submissions()
            .into_iter()
            .find(|s| s.input["prompt"] == prompt)
            .map(|s| s.request_id);
        std::future::ready(found.is_some())
    })
    .await;
    found.unwrap()
}

/// Submits a text-to-image job on `project` and waits until it is `status`.
async fn generation(user: &User, project: Uuid, prompt: &str) -> String {
    let body = json!({"kind": "text-to-image", "prompt": prompt, "projectId": project});
    let g = user
        .post("/v1/generations", &body)
        .await
        .expect(202)
        .clone();
    g["id"].as_str().unwrap().to_owned()
}

async fn wait_status(user: &User, id: &str, status: &str) {
    poll_until(&format!("generation {id} is {status}"), || async {
        user.get(&format!("/v1/generations/{id}")).await.expect(200)["status"] == status
    })
    .await;
}

/// The user's assets as the API lists them, without their signed URLs (which expire).
async fn assets_of(user: &User) -> Vec<serde_json::Value> {
    let mut items = user.list_all("/v1/assets", "").await;
    for item in &mut items {
        item.as_object_mut().unwrap().remove("url");
    }
    items
}

/// Gives `user` a project with canvas changes, uploads, an idempotent create, credits and a
/// completed generation; returns the project.
async fn fill(user: &User, fal: &FakeFal, uploads: &[&[u8]]) -> Uuid {
    let project = user.new_project().await;
    let change = json!({
        "clientId": Uuid::new_v4(), "since": null,
        "changes": [{
            "opId": Uuid::new_v4(), "elementId": Uuid::new_v4(),
            "set": {"kind": "image", "x": 1.0, "y": 2.0, "width": 64.0, "height": 64.0, "z": "a0",
                    "assetId": sha256_hex(uploads[0])},
            "clock": "0001700000000000-000000-device1"
        }]
    });
    user.post(&format!("/v1/projects/{project}/sync"), &change)
        .await
        .expect(200);
    for bytes in uploads {
        user.upload(bytes, "image/png").await.expect(201);
    }
    let keyed = user
        .request(Method::POST, "/v1/projects")
        .header("idempotency-key", format!("create-{}", user.id))
        .json(&json!({"name": "kept once"}));
    crate::common::send(keyed).await.expect(201);
    let credits = user.get("/v1/credits").await;
    assert!(
        credits.status == 200 || credits.status == 404,
        "GET /v1/credits: {}",
        credits.status
    );
    let prompt = format!("finished for {}", user.id);
    let done = generation(user, project, &prompt).await;
    fal.release(&request_of(fal, &prompt).await);
    wait_status(user, &done, "completed").await;
    project
}

async fn user_deleted_removes_everything_of_that_user_and_nothing_else(b: Backend) {
    let fal = FakeFal::start(FakeConfig::with_progress(Progress::Hold)).await;
    let secret = new_secret();
    let srv = TestServer::start_public(b, |cfg| {
        wire(cfg, &fal);
        cfg.clerk_webhook_secret = Some(secret.clone());
        cfg.accounts.deletion_settle_secs = 0;
    })
    .await;
    let db = Inspect::of(&srv);
    let clerk = ClerkSender::new(&srv.base, &secret);
    let (alice, bob) = (srv.user("user_alice"), srv.user("user_bob"));
    let shared = png(40, 30, 1);
    let (a1, a2, b1) = (png(40, 30, 2), png(40, 30, 3), png(40, 30, 4));
    fill(&alice, &fal, &[&shared, &a1, &a2]).await;
    let bob_project = fill(&bob, &fal, &[&shared, &b1]).await;

    // A job of Alice still running at fal when she is deleted.
    let running_prompt = "still running";
    let alice_project = alice.new_project().await;
    let running = generation(&alice, alice_project, running_prompt).await;
    let running_request = request_of(&fal, running_prompt).await;
    wait_status(&alice, &running, "running").await;

    let alice_before = db.rows_of(&alice.id).await;
    let bob_before = db.rows_of(&bob.id).await;
    assert_filled(&alice_before, "alice");
    assert_filled(&bob_before, "bob");
    let alice_requests = db.request_ids(&alice.id).await;
    assert_eq!(alice_requests.len(), 2);
    assert!(
        db.fal_inbox_rows(&alice_requests).await >= 1,
        "fal's webhook of the finished job was recorded"
    );
    // Three uploads and one generated output each under Alice's prefix; Bob has his own copy
    // of the shared bytes.
    assert_eq!(db.blobs_of(&alice.id).await.len(), 4);
    let bob_blobs = db.blobs_of(&bob.id).await;
    assert_eq!(bob_blobs.len(), 3);
    assert!(bob_blobs.iter().any(|k| k.ends_with(&sha256_hex(&shared))));
    let bob_assets = assets_of(&bob).await;

    let mut stream = EventStream::open(&alice, None).await;
    clerk
        .deliver("msg_delete_alice", &user_deleted(&alice.id))
        .await
        .expect(200);
    // Refused at once, before the deletion has finished.
    alice
        .get("/v1/me")
        .await
        .expect_error(401, "UNAUTHENTICATED");
    // Her stream ends, and nothing about the deletion was published to it.
    loop {
        match stream.next().await {
            None => break,
            Some(ev) => assert!(
                !matches!(
                    ev.event.as_str(),
                    "asset.deleted" | "project.deleted" | "generation.updated"
                ) || ev.data["generation"]["status"] == "running",
                "published to a deleted user: {ev:?}"
            ),
        }
    }
    poll_until("the deletion is done", || async {
        db.deletion_phase(&alice.id).await.as_deref() == Some("done")
    })
    .await;

    assert_empty(&db.rows_of(&alice.id).await, "alice");
    assert_eq!(db.fal_inbox_rows(&alice_requests).await, 0);
    assert_eq!(db.blobs_of(&alice.id).await, Vec::<String>::new());
    assert!(
        fal.cancels_for(&running_request) >= 1,
        "the running job was canceled at fal"
    );
    // Bob: every row and blob as before, and every asset still downloads.
    assert_eq!(db.rows_of(&bob.id).await, bob_before);
    assert_eq!(db.blobs_of(&bob.id).await, bob_blobs);
    assert_eq!(assets_of(&bob).await, bob_assets);
    for bytes in [&shared, &b1] {
        let got = bob
            .get(&format!("/v1/assets/{}/content", sha256_hex(bytes)))
            .await;
        got.expect(200);
        assert_eq!(got.bytes.as_ref(), bytes.as_slice());
    }
    bob.project(bob_project).await;

    // The same delivery again, another delivery of the same event, and a late user.created:
    // 200, nothing changes, nothing comes back.
    let bob_rows = db.rows_of(&bob.id).await;
    for (id, event) in [
        ("msg_delete_alice", user_deleted(&alice.id)),
        ("msg_delete_alice_again", user_deleted(&alice.id)),
        (
            "msg_create_alice",
            user_event(
                "user.created",
                &alice.id,
                "alice@example.com",
                "Alice",
                i64::MAX / 2,
            ),
        ),
    ] {
        clerk.deliver(id, &event).await.expect(200);
        assert_eq!(db.deletion_phase(&alice.id).await.as_deref(), Some("done"));
        assert_empty(&db.rows_of(&alice.id).await, "alice");
        assert_eq!(db.rows_of(&bob.id).await, bob_rows);
    }
    alice
        .get("/v1/me")
        .await
        .expect_error(401, "UNAUTHENTICATED");
    let upload = alice.upload(&png(8, 8, 9), "image/png").await;
    upload.expect_error(401, "UNAUTHENTICATED");
    assert_empty(&db.rows_of(&alice.id).await, "alice");
    assert_eq!(db.blobs_of(&alice.id).await, Vec::<String>::new());
}

/// A deletion's event stream ends on every replica (the end travels through Redis).
async fn streams_end_on_every_replica(b: Backend) {
    let secret = new_secret();
    let srv = TestServer::start(b, |cfg| {
        cfg.clerk_webhook_secret = Some(secret.clone());
    })
    .await;
    let other = srv.replica().await;
    let alice = srv.user("user_stream");
    alice.new_project().await;
    let on_other = User::new(
        other.http.clone(),
        &other.base,
        &alice.id,
        alice.token.clone(),
    );
    let mut stream = EventStream::open(&on_other, None).await;
    ClerkSender::new(&srv.base, &secret)
        .deliver("msg_stream", &user_deleted(&alice.id))
        .await
        .expect(200);
    assert!(stream.next().await.is_none(), "the stream ended");
    on_other
        .get("/v1/me")
        .await
        .expect_error(401, "UNAUTHENTICATED");
}

backend_tests!(user_deleted_removes_everything_of_that_user_and_nothing_else);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_end_on_every_replica_scaled() {
    streams_end_on_every_replica(Backend::Scaled).await;
}
