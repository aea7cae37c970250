//! Tests of the sync client against a fake server speaking docs/api.md.

use super::fake_server::{healthy, project_json, unreachable_url, FakeServer, Resp};
use super::*;
use crate::engine::tests::engine;
use crate::media::tests::PNG_1X1;
use crate::store::now_ms;
use crate::store::outbox::{OpError, OpState};
use crate::NewElement;
use serde_json::{json, Value};
use uuid::Uuid;

fn states(e: &Engine) -> Vec<(String, OpState, u32)> {
    e.outbox()
        .unwrap()
        .into_iter()
        .map(|o| (o.payload.kind().to_owned(), o.state, o.attempts))
        .collect()
}

#[tokio::test]
async fn pushes_in_order_applies_remote_changes_and_stores_cursor() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let (a, r1) = e
        .add_element(p, &NewElement::image(None, 1.0, 2.0, 3.0, 4.0))
        .unwrap();
    let r2 = e.move_element(p, a.id, 9.0, 9.0).unwrap();
    let remote_el = Uuid::new_v4();
    let server = FakeServer::start(move |req| {
        if req.path.ends_with("/sync") {
            return Resp::json(200, json!({"cursor": "c7", "rejected": [], "changes": [{
                "opId": Uuid::new_v4(), "elementId": remote_el, "clock": "1732300000000-000000-other",
                "set": {"kind": "image", "x": 40, "y": 0, "width": 10, "height": 10, "z": "a0"}
            }]}));
        }
        healthy(req)
    })
    .await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let report = client.sync_once().await.unwrap();
    assert_eq!((report.sent, report.rejected, report.pulled), (3, 0, 1));
    let calls = server.calls();
    assert_eq!(calls[0], "POST /v1/projects");
    assert_eq!(calls[1], format!("POST /v1/projects/{p}/sync"));
    let reqs = server.requests.lock().unwrap().clone();
    assert_eq!(reqs[0].header("authorization"), Some("Bearer tok"));
    assert!(reqs[0].header("idempotency-key").is_some());
    assert_eq!(reqs[0].json()["id"], json!(p));
    let body = reqs[1].json();
    assert_eq!(body["clientId"], json!(e.client_id()));
    let sent: Vec<Value> = body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["opId"].clone())
        .collect();
    assert_eq!(sent, [json!(r1.op_ids()[0]), json!(r2.op_ids()[0])]);
    assert!(e.outbox().unwrap().is_empty());
    assert_eq!(e.sync_cursor(p).unwrap().as_deref(), Some("c7"));
    assert_eq!(e.open_project(p).unwrap().canvas.elements.len(), 2);
    let st = status(&e, true).unwrap();
    assert_eq!((st.online, st.pending), (Some(true), 0));
    assert!(st.last_sync_at.is_some() && st.last_error.is_none());
}

#[tokio::test]
async fn server_errors_back_off_without_reordering_the_lane() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    e.add_element(p, &NewElement::image(None, 0.0, 0.0, 1.0, 1.0))
        .unwrap();
    let server = FakeServer::start(|req| match req.method.as_str() {
        "POST" => Resp::error(503, "INTERNAL", "down for a moment"),
        _ => healthy(req),
    })
    .await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let report = client.sync_once().await.unwrap();
    assert_eq!((report.sent, report.deferred), (0, 2));
    let ops = e.outbox().unwrap();
    assert_eq!((ops[0].state, ops[0].attempts), (OpState::Pending, 1));
    assert!(ops[0].next_attempt_ms > now_ms());
    assert_eq!(ops[1].attempts, 0, "the change waits behind the create");
    client.sync_once().await.unwrap();
    let posts = server
        .calls()
        .iter()
        .filter(|c| c.starts_with("POST"))
        .count();
    assert_eq!(posts, 1, "nothing resent before the backoff expires");
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let (e, _dir) = engine();
    e.create_project(None).unwrap();
    let server = FakeServer::start(|_| {
        Resp::error(429, "RATE_LIMITED", "slow down").with_header("retry-after", "120")
    })
    .await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let err = client.sync_once().await.unwrap_err();
    assert!(matches!(err, SyncError::RateLimited { .. }), "{err}");
    let op = &e.outbox().unwrap()[0];
    assert!(op.next_attempt_ms >= now_ms() + 110_000);
    assert!(
        matches!(
            op.last_error,
            Some(OpError::RateLimited {
                retry_after_secs: Some(120),
                ..
            })
        ),
        "{:?}",
        op.last_error
    );
}

#[tokio::test]
async fn refusals_are_kept_with_the_server_body_and_the_lane_goes_on() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    e.rename_project(p, "Renamed").unwrap();
    let (a, r) = e
        .add_element(p, &NewElement::image(None, 0.0, 0.0, 1.0, 1.0))
        .unwrap();
    e.move_element(p, a.id, 3.0, 3.0).unwrap();
    let refused_op = r.op_ids()[0];
    let server = FakeServer::start(move |req| match req.method.as_str() {
        "PATCH" => Resp::error(422, "VALIDATION_FAILED", "name is taken"),
        "POST" if req.path.ends_with("/sync") => Resp::json(200, json!({
            "cursor": "c1", "changes": [],
            "rejected": [{"opId": refused_op, "error": {"code": "VALIDATION_FAILED", "message": "bad z"}}]
        })),
        _ => healthy(req),
    })
    .await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let report = client.sync_once().await.unwrap();
    assert_eq!((report.sent, report.rejected), (2, 2));
    let kept = states(&e);
    assert_eq!(
        kept,
        [
            ("project.rename".into(), OpState::Rejected, 1),
            ("canvas.change".into(), OpState::Rejected, 1)
        ]
    );
    let ops = e.outbox().unwrap();
    match &ops[0].last_error {
        Some(OpError::Rejected { status, error }) => {
            assert_eq!((*status, error.message.as_str()), (422, "name is taken"))
        }
        other => panic!("not kept as a rejection: {other:?}"),
    }
    assert_eq!(status(&e, true).unwrap().rejected, 2);
    e.outbox_retry(ops[0].op_id).unwrap();
    e.outbox_discard(ops[1].op_id).unwrap();
    assert_eq!(states(&e), [("project.rename".into(), OpState::Pending, 1)]);
}

#[tokio::test]
async fn quota_exceeded_pauses_uploads_while_canvas_sync_goes_on() {
    let (e, dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let file = dir.path().join("a.png");
    std::fs::write(&file, PNG_1X1).unwrap();
    e.add_media(p, &file, 0.0, 0.0).unwrap();
    let server = FakeServer::start(|req| match req.method.as_str() {
        "HEAD" => Resp::json(404, json!(null)),
        "PUT" => Resp::error(403, "STORAGE_QUOTA_EXCEEDED", "storage full (500 MB)"),
        _ => healthy(req),
    })
    .await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let report = client.sync_once().await.unwrap();
    assert_eq!((report.sent, report.deferred, report.rejected), (2, 1, 0));
    assert_eq!(states(&e), [("asset.upload".into(), OpState::Pending, 0)]);
    let st = status(&e, true).unwrap();
    assert_eq!(st.indicator, "Sync paused: storage full (500 MB)");
    e.move_element(
        p,
        e.open_project(p).unwrap().canvas.elements[0].id,
        1.0,
        1.0,
    )
    .unwrap();
    let report = client.sync_once().await.unwrap();
    assert_eq!(
        (report.sent, report.deferred),
        (1, 1),
        "canvas still syncs; upload waits"
    );
    assert_eq!(
        server
            .calls()
            .iter()
            .filter(|c| c.starts_with("PUT"))
            .count(),
        1
    );
}

#[tokio::test]
async fn upload_streams_the_file_once_the_server_lacks_it() {
    let (e, dir) = engine();
    let file = dir.path().join("a.png");
    std::fs::write(&file, PNG_1X1).unwrap();
    let (asset, _) = e.import_asset(&file).unwrap();
    let server = FakeServer::start(|req| match req.method.as_str() {
        "HEAD" => Resp::json(404, json!(null)),
        "PUT" => Resp::json(
            201,
            json!({
                "id": "x", "type": "image", "mimeType": "image/png", "sizeBytes": 70, "width": 1,
                "height": 1, "durationMs": null, "createdAt": "t", "source": "upload", "url": "u"
            }),
        ),
        _ => healthy(req),
    })
    .await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    assert_eq!(client.sync_once().await.unwrap().sent, 1);
    let put = server
        .requests
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.method == "PUT")
        .cloned()
        .unwrap();
    assert_eq!(put.path, format!("/v1/assets/{}", asset.sha256));
    assert_eq!(put.body, PNG_1X1);
    assert_eq!(put.header("content-type"), Some("image/png"));
    assert!(e.asset(&asset.sha256).unwrap().unwrap().uploaded);
}

#[tokio::test]
async fn refused_session_stops_sync_and_keeps_ops_untouched() {
    let (e, _dir) = engine();
    e.create_project(None).unwrap();
    let server = FakeServer::start(|_| Resp::error(401, "UNAUTHENTICATED", "expired")).await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let err = client.sync_once().await.unwrap_err();
    assert!(matches!(err, SyncError::Unauthenticated { .. }) && err.stops_sync());
    assert_eq!(states(&e), [("project.create".into(), OpState::Pending, 0)]);
    assert_eq!(e.outbox().unwrap()[0].next_attempt_ms, 0);
}

#[tokio::test]
async fn unreachable_server_means_offline_and_backoff() {
    let (e, _dir) = engine();
    e.create_project(None).unwrap();
    let client = SyncClient::new(e.clone(), &unreachable_url(), "tok").unwrap();
    let err = client.sync_once().await.unwrap_err();
    assert!(err.is_offline(), "{err}");
    let st = status(&e, true).unwrap();
    assert_eq!(
        (st.online, st.indicator.as_str()),
        (Some(false), "Offline — saved on this device")
    );
    assert_eq!(states(&e), [("project.create".into(), OpState::Pending, 1)]);
}

#[tokio::test]
async fn what_backed_off_while_offline_goes_as_soon_as_the_server_answers() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let offline = SyncClient::new(e.clone(), &unreachable_url(), "tok").unwrap();
    assert!(offline.sync_once().await.unwrap_err().is_offline());
    // A change whose last attempt met a server failure keeps its backoff.
    let (_, r) = e
        .add_element(p, &NewElement::image(None, 1.0, 2.0, 3.0, 4.0))
        .unwrap();
    let failed = OpError::Server {
        status: 503,
        code: iskra_protocol::ErrorCode::Internal,
        message: "down".into(),
    };
    let later = now_ms() + 3_600_000;
    e.ops_retry_later(&r.op_ids(), later, &failed).unwrap();
    let waiting = e.outbox().unwrap();
    assert!(
        waiting.iter().all(|o| o.next_attempt_ms > now_ms()),
        "both operations were backing off: {waiting:?}"
    );

    let server = FakeServer::start(healthy).await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let report = client.sync_once().await.unwrap();
    assert_eq!((report.sent, report.deferred), (1, 1), "{report:?}");
    // The first pass deferred the creation and reached the server with its pull; the second
    // sent it, once.
    let calls = server.calls();
    let created = calls.iter().filter(|c| *c == "POST /v1/projects").count();
    assert!(
        created == 1 && calls[0].starts_with("GET /v1/projects"),
        "{calls:?}"
    );
    let left = e.outbox().unwrap();
    assert_eq!(
        (left.len(), left[0].payload.kind(), left[0].next_attempt_ms),
        (1, "canvas.change", later),
        "the server failure's backoff is kept"
    );
}

#[tokio::test]
async fn pull_adopts_projects_from_other_devices() {
    let (e, _dir) = engine();
    let other = Uuid::new_v4();
    let el = Uuid::new_v4();
    let server = FakeServer::start(move |req| {
        let path = req.path.split('?').next().unwrap_or("");
        if path == "/v1/projects" {
            let p = project_json(&json!(other), &json!("From laptop"));
            return Resp::json(200, json!({"items": [p], "nextCursor": null}));
        }
        if path.ends_with("/changes") {
            return Resp::json(
                200,
                json!({"cursor": "c3", "changes": [{
                    "opId": Uuid::new_v4(), "elementId": el, "clock": "1732300000000-000000-laptop",
                    "set": {"kind": "video", "x": 1}
                }]}),
            );
        }
        healthy(req)
    })
    .await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let report = client.sync_once().await.unwrap();
    assert_eq!((report.new_projects, report.pulled), (1, 1));
    let p = e.project(other).unwrap();
    assert_eq!((p.name.as_str(), p.video_count), ("From laptop", 1));
    assert_eq!(e.sync_cursor(other).unwrap().as_deref(), Some("c3"));
    assert!(e.outbox().unwrap().is_empty(), "adopting queues nothing");
}

#[tokio::test]
async fn events_wake_sync_and_reconnect_with_last_event_id() {
    let (e, _dir) = engine();
    let resumed = std::sync::Arc::new(tokio::sync::Notify::new());
    let signal = std::sync::Arc::clone(&resumed);
    let server = FakeServer::start(move |req| {
        if req.path == "/v1/events" {
            if req.header("last-event-id") == Some("7") {
                signal.notify_one();
                return Resp {
                    status: 200,
                    headers: vec![],
                    body: String::new(),
                };
            }
            let data = json!({"projectId": Uuid::new_v4(), "cursor": "c9"});
            return Resp {
                status: 200,
                headers: vec![("content-type".into(), "text/event-stream".into())],
                body: format!(": hi\n\nid: 7\nevent: project.changed\ndata: {data}\n\n"),
            };
        }
        healthy(req)
    })
    .await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    client.watch(resumed.notified()).await.unwrap();
    assert_eq!(
        e.setting(crate::store::settings::LAST_EVENT_ID)
            .unwrap()
            .as_deref(),
        Some("7")
    );
    assert!(server
        .calls()
        .iter()
        .any(|c| c.starts_with("GET /v1/projects")));
}

#[tokio::test]
async fn a_panicked_store_task_stops_sync_and_is_kept_as_panicked_not_retried() {
    let (e, _dir) = engine();
    e.create_project(None).unwrap();
    let err = on_engine(&e, |_| -> crate::Result<()> { panic!("store bug") })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SyncError::Task { panicked: true, message } if message == "store bug"),
        "{err:?}"
    );
    let server = FakeServer::start(healthy).await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let op = e.outbox().unwrap()[0].op_id;
    let failed = client.settle(vec![op], 0, err).await.unwrap();
    assert!(matches!(
        failed,
        flush::Failed::Stop(SyncError::Task { .. })
    ));
    let kept = e.outbox().unwrap().remove(0);
    assert_eq!(
        (kept.state, kept.attempts, kept.next_attempt_ms),
        (OpState::Pending, 0, 0),
        "not counted as a failed attempt, not scheduled as a retry"
    );
    assert_eq!(
        kept.last_error,
        Some(OpError::Panicked {
            message: "store bug".into()
        })
    );
}
