//! Generations through the sync client against the fake server: submitted once (the op id as
//! `Idempotency-Key`) after being requested offline, the placeholder linked on acceptance,
//! refusals kept with their limit, cancel before and after sending, retry, and updates from
//! events and pulls.

use super::fake_generations::FakeGenerations;
use super::fake_server::{healthy, unreachable_url, FakeServer, Resp};
use super::*;
use crate::engine::tests::engine;
use crate::generation::{GenerateRequest, GenerationState};
use crate::store::outbox::{OpError, OpState};
use iskra_protocol::GenerationStatus;
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

async fn server(gens: &Arc<FakeGenerations>) -> FakeServer {
    let gens = Arc::clone(gens);
    FakeServer::start(move |req| gens.handle(req).unwrap_or_else(|| healthy(req))).await
}

/// `generationId` values pushed to the server for `element` after its creation.
fn pushed_links(server: &FakeServer, element: Uuid) -> Vec<serde_json::Value> {
    let reqs = server.requests.lock().unwrap().clone();
    reqs.iter()
        .filter(|r| r.path.ends_with("/sync"))
        .flat_map(|r| r.json()["changes"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["elementId"] == json!(element) && c["set"].get("kind").is_none())
        .filter_map(|c| c["set"].get("generationId").cloned())
        .collect()
}

#[tokio::test]
async fn requested_offline_it_is_submitted_exactly_once_on_reconnect() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let g = e
        .generate(p, &GenerateRequest::text_to_image("a red fox"))
        .unwrap();
    let (id, element) = (g.generation.id, g.placeholder.id);
    assert!(e.open_project(p).unwrap().canvas.elements[0].id == element);

    let offline = SyncClient::new(e.clone(), &unreachable_url(), "tok").unwrap();
    assert!(offline.sync_once().await.unwrap_err().is_offline());
    assert_eq!(e.generation(id).unwrap().status, GenerationState::Waiting);

    // Back online; the first answer to the submit is lost, so it is sent again.
    let gens = FakeGenerations::new();
    gens.lose_next_answer();
    let server = server(&gens).await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let mut changes = e.changes();
    let linked = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let el = e.open_project(p).unwrap().canvas.elements[0].clone();
            let accepted = e.generation(id).unwrap().server_id.is_some();
            if accepted && e.outbox_counts().unwrap() == (0, 0) {
                return el;
            }
            tokio::time::timeout_at(deadline, changes.changed())
                .await
                .expect("linked in time")
                .unwrap();
        }
    };
    let element_now = tokio::select! {
        r = client.watch(std::future::pending()) => panic!("watch ended: {r:?}"),
        el = linked => el,
    };
    let jobs = gens.generations();
    assert_eq!(jobs.len(), 1, "one generation on the server");
    assert_eq!(gens.posts(), 2, "the lost answer was asked for again");
    assert!(gens
        .submissions()
        .iter()
        .all(|(key, _)| *key == id.to_string()));
    assert_eq!(gens.submissions()[0].1["elementId"], json!(element));
    let local = e.generation(id).unwrap();
    assert_eq!(local.server_id, Some(jobs[0].id));
    assert_eq!(local.status, GenerationState::Queued);
    // The placeholder is never rewritten: a later write would revive it after the server
    // replaced it with the outputs.
    assert_eq!((element_now.id, element_now.generation_id), (element, None));
    assert!(pushed_links(&server, element).is_empty());
    let calls = server.calls();
    let placeholder_push = calls.iter().position(|c| c.ends_with("/sync")).unwrap();
    let submit = calls
        .iter()
        .position(|c| c == "POST /v1/generations")
        .unwrap();
    assert!(
        placeholder_push < submit,
        "the server saw the placeholder first: {calls:?}"
    );

    client.sync_once().await.unwrap();
    assert_eq!(gens.posts(), 2, "nothing sent again");
}

#[tokio::test]
async fn a_rate_limited_request_fails_with_its_window_and_stays_visible_as_rejected() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let g = e
        .generate(p, &GenerateRequest::text_to_image("fox"))
        .unwrap();
    let other = e.add_element(p, &crate::NewElement::image(None, 0.0, 0.0, 5.0, 5.0));
    let other = other.unwrap().0;
    let gens = FakeGenerations::new();
    gens.rate_limit_next(10, "2026-12-01T00:00:00.000Z");
    let server = server(&gens).await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let report = client.sync_once().await.unwrap();
    assert_eq!(report.rejected, 1);
    let failed = e.generation(g.generation.id).unwrap();
    assert_eq!(failed.status, GenerationState::Failed);
    let error = failed.error.unwrap();
    assert_eq!(error.code, "RATE_LIMITED");
    let limit = error.limit.unwrap();
    assert_eq!(
        (
            limit.window.as_str(),
            limit.limit,
            limit.used,
            limit.remaining
        ),
        ("day", 10, 10, 0)
    );
    assert_eq!(limit.resets_at, "2026-12-01T00:00:00.000Z");
    assert_eq!(
        limit.upgrade_url.as_deref(),
        Some("https://iskra.example/upgrade")
    );
    let ops = e.outbox().unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(
        (ops[0].op_id, ops[0].state),
        (g.generation.id, OpState::Rejected)
    );
    assert!(
        matches!(
            ops[0].last_error,
            Some(OpError::Rejected { status: 429, .. })
        ),
        "{:?}",
        ops[0].last_error
    );
    let pushed = server.requests.lock().unwrap().clone();
    let later_change_sent = pushed
        .iter()
        .filter(|r| r.path.ends_with("/sync"))
        .any(|r| {
            r.json()["changes"]
                .to_string()
                .contains(&other.id.to_string())
        });
    assert!(later_change_sent, "the lane went on after the refusal");

    // Retry: a new request (new key) for the same placeholder, accepted this time.
    e.retry_generation(g.generation.id).unwrap();
    let key = e.outbox().unwrap()[0].op_id;
    assert_ne!(key, g.generation.id);
    client.sync_once().await.unwrap();
    let accepted = e.generation(g.generation.id).unwrap();
    assert_eq!(accepted.status, GenerationState::Queued);
    assert_eq!(gens.submissions()[0].0, key.to_string());
    assert_eq!(accepted.element_id, g.placeholder.id);
    assert!(e.outbox().unwrap().is_empty());

    // It fails at fal and is retried again: late news of the first attempt changes nothing.
    let first = accepted.server_id.unwrap();
    let failed = gens.fail(first, "FAL_FAILED", "no luck");
    client.sync_once().await.unwrap();
    e.retry_generation(g.generation.id).unwrap();
    assert!(!e.apply_server_generation(&failed).unwrap());
    client.sync_once().await.unwrap();
    let second = e.generation(g.generation.id).unwrap();
    assert_ne!(second.server_id, Some(first));
    assert_eq!(
        (second.status, second.error),
        (GenerationState::Queued, None)
    );
    let element = &e.open_project(p).unwrap().canvas.elements;
    assert!(element.iter().any(|el| el.id == g.placeholder.id));
    assert_eq!(second.element_id, g.placeholder.id, "the same placeholder");
}

#[tokio::test]
async fn storage_full_fails_with_the_storage_numbers_and_unavailable_waits() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let full = e.generate(p, &GenerateRequest::text_to_image("a")).unwrap();
    let waits = e.generate(p, &GenerateRequest::text_to_image("b")).unwrap();
    let gens = FakeGenerations::new();
    let storage = json!({"usedBytes": 10, "limitBytes": 10, "images": 3, "imagesLimit": 3,
        "videos": 0, "videosLimit": 1, "overLimit": true});
    gens.refuse_next(
        403,
        json!({"code": "STORAGE_QUOTA_EXCEEDED", "message": "storage full",
        "storage": storage}),
        None,
    );
    gens.refuse_next(
        503,
        json!({"code": "GENERATION_UNAVAILABLE", "message": "no fal key"}),
        None,
    );
    let server = server(&gens).await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let report = client.sync_once().await.unwrap();
    assert_eq!((report.rejected, report.deferred), (1, 1));
    let error = e.generation(full.generation.id).unwrap().error.unwrap();
    assert_eq!(error.code, "STORAGE_QUOTA_EXCEEDED");
    assert_eq!(error.storage.unwrap().images_limit, 3);
    let waiting = e.generation(waits.generation.id).unwrap();
    assert_eq!(
        (waiting.status, waiting.error),
        (GenerationState::Waiting, None)
    );
    let op = e
        .outbox()
        .unwrap()
        .into_iter()
        .find(|o| o.op_id == waits.generation.id);
    let op = op.unwrap();
    assert_eq!((op.state, op.attempts), (OpState::Pending, 1));
}

#[tokio::test]
async fn cancel_after_sending_asks_the_server_and_ends_canceled() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let g = e
        .generate(p, &GenerateRequest::text_to_image("fox"))
        .unwrap();
    let gens = FakeGenerations::new();
    let server = server(&gens).await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    client.sync_once().await.unwrap();
    let server_id = e.generation(g.generation.id).unwrap().server_id.unwrap();
    let asked = e.cancel_generation(g.generation.id).unwrap();
    assert_eq!(
        asked.status,
        GenerationState::Queued,
        "until the server says so"
    );
    assert!(e.open_project(p).unwrap().canvas.elements.is_empty());
    client.sync_once().await.unwrap();
    assert!(server
        .calls()
        .contains(&format!("DELETE /v1/generations/{server_id}")));
    assert_eq!(
        gens.get(server_id).unwrap().status,
        GenerationStatus::Canceled
    );
    let canceled = e.generation(g.generation.id).unwrap();
    assert_eq!(canceled.status, GenerationState::Canceled);
    assert!(e.outbox().unwrap().is_empty());

    // Ended before the cancel arrived: the 409 leaves it as it ended.
    let done = e
        .generate(p, &GenerateRequest::text_to_image("owl"))
        .unwrap();
    client.sync_once().await.unwrap();
    let done_id = e.generation(done.generation.id).unwrap().server_id.unwrap();
    e.cancel_generation(done.generation.id).unwrap();
    gens.complete(done_id, 1);
    client.sync_once().await.unwrap();
    assert_eq!(
        e.generation(done_id).unwrap().status,
        GenerationState::Completed
    );
    assert!(e.outbox().unwrap().is_empty());
}

#[tokio::test]
async fn events_and_pulls_bring_progress_and_outputs() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let g = e
        .generate(p, &GenerateRequest::text_to_image("fox"))
        .unwrap();
    let gens = FakeGenerations::new();
    let server = server(&gens).await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    client.sync_once().await.unwrap();
    let server_id = e.generation(g.generation.id).unwrap().server_id.unwrap();

    // A pull refreshes what is still running.
    gens.set_status(server_id, GenerationStatus::Running, None);
    let report = client.sync_once().await.unwrap();
    assert_eq!(report.generations, 1);
    assert_eq!(
        e.generation(server_id).unwrap().status,
        GenerationState::Running
    );

    // An event brings the outputs; the change feed ticks; a late event cannot go back.
    // (Pulls keep answering "running" here: only the event can complete it.)
    let running_event = gens.event(server_id, 1);
    let running = serde_json::to_value(gens.get(server_id).unwrap()).unwrap();
    gens.complete(server_id, 2);
    let done_event = gens.event(server_id, 2);
    let (_, rev) = e.generations_since(0).unwrap();
    let gens2 = Arc::clone(&gens);
    let events = FakeServer::start(move |req| {
        if req.path == format!("/v1/generations/{server_id}") {
            return Resp::json(200, running.clone());
        }
        if req.path == "/v1/events" {
            return Resp {
                status: 200,
                headers: vec![("content-type".into(), "text/event-stream".into())],
                body: format!("{done_event}{running_event}"),
            };
        }
        gens2.handle(req).unwrap_or_else(|| healthy(req))
    })
    .await;
    let client = SyncClient::new(e.clone(), &events.url, "tok").unwrap();
    let mut changes = e.changes();
    let completed = async {
        loop {
            if e.generation(server_id).unwrap().status == GenerationState::Completed {
                return;
            }
            changes.changed().await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(30), async {
        tokio::select! {
            r = client.watch(std::future::pending()) => panic!("watch ended: {r:?}"),
            () = completed => {}
        }
    })
    .await
    .expect("completed in time");
    let done = e.generation(server_id).unwrap();
    assert_eq!(done.outputs.len(), 2);
    let (changed, _) = e.generations_since(rev).unwrap();
    assert_eq!(changed.last().map(|g| g.id), Some(g.generation.id));
    let provenance = e.asset_provenance().unwrap();
    assert_eq!(provenance[&done.outputs[0]].generation_id, server_id);
    assert_eq!(
        e.models().unwrap().len(),
        3,
        "the catalogue was fetched on start"
    );
}

#[tokio::test]
async fn a_generation_from_another_device_is_recorded_from_its_update() {
    let (e, _dir) = engine();
    let gens = FakeGenerations::new();
    let server = server(&gens).await;
    let other = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    // Another device's request, made through the same fake.
    let (project, element) = (Uuid::new_v4(), Uuid::new_v4());
    let req = json!({"kind": "text-to-image", "prompt": "owl", "projectId": project,
        "elementId": element});
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/generations", server.url))
        .header("Idempotency-Key", Uuid::new_v4().to_string())
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let g = gens.generations()[0].clone();
    assert!(e.apply_server_generation(&g).unwrap());
    assert!(!e.apply_server_generation(&g).unwrap(), "nothing new");
    let local = e.generation(g.id).unwrap();
    assert_eq!((local.id, local.status), (g.id, GenerationState::Queued));
    assert_eq!((local.project_id, local.element_id), (project, element));
    gens.fail(g.id, "FAL_FAILED", "the model could not run");
    other.sync_once().await.unwrap();
    let failed = e.generation(g.id).unwrap();
    assert_eq!(failed.error.unwrap().message, "the model could not run");
    assert_eq!(other.models().await.unwrap().len(), 3);
}
