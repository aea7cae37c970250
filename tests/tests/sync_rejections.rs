//! Acceptance 4 (D4, S5, X1): what the server refuses is never dropped silently.
//!
//! - Operations the server rejects with a 4xx (a rename and a move of a project another device
//!   deleted meanwhile: 404 `NOT_FOUND`) stay in the outbox as `rejected` with the server's
//!   error — as `iskra outbox list` shows — through further syncs, until retried (refused
//!   again) or discarded.
//! - A user whose storage is full (free tier limited to one image): the second upload stays
//!   queued and paused with the quota reason, while canvas changes keep syncing.

use iskra_engine::store::outbox::OpError;
use iskra_engine::sync::status;
use iskra_engine::NewElement;
use iskra_protocol::ErrorCode;
use iskra_tests::device::{by_id, Device};
use iskra_tests::server::TestServer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The rejected rows of `iskra outbox list --json`: (op id, kind, error code).
fn listed_rejected(list: &Value) -> Vec<(Uuid, String, String)> {
    list.as_array()
        .expect("a list")
        .iter()
        .filter(|o| o["state"] == "rejected")
        .map(|o| {
            (
                serde_json::from_value(o["opId"].clone()).expect("op id"),
                o["payload"]["kind"].as_str().unwrap_or_default().to_owned(),
                o["lastError"]["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_operations_stay_listed_until_retried_or_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let token = server.token("rita");
    let a = Device::new(&server.url(), &token);
    let b = Device::new(&server.url(), &token);
    let p = a.create_project();
    let (el, _) = a
        .engine
        .add_element(p, &NewElement::image(None, 0.0, 0.0, 10.0, 10.0))
        .unwrap();
    a.sync().await;
    b.sync().await;
    b.engine.delete_project(p).unwrap();
    b.sync().await;

    a.engine.rename_project(p, "Renamed on A").unwrap();
    a.engine.move_element(p, el.id, 5.0, 5.0).unwrap();
    let report = a.sync().await;
    assert_eq!((report.sent, report.rejected), (0, 2));
    let rejected = a.rejected();
    assert_eq!(rejected.len(), 2);
    for op in &rejected {
        match op.last_error.as_ref().expect("the server's error is kept") {
            OpError::Rejected { status, error } => {
                assert_eq!((*status, error.code), (404, ErrorCode::NotFound))
            }
            other => panic!("not kept as a rejection: {other:?}"),
        }
    }
    // Still there after more passes, and still on the device (X1).
    a.sync().await;
    assert_eq!(a.rejected(), rejected);
    assert_eq!(a.canvas(p).elements[0].x, 5.0);
    let ids: Vec<Uuid> = rejected.iter().map(|o| o.op_id).collect();

    let mut listed = listed_rejected(&a.cli(&["outbox", "list"]));
    listed.sort();
    let mut want: Vec<_> = rejected
        .iter()
        .map(|o| (o.op_id, o.payload.kind().to_owned(), "NOT_FOUND".to_owned()))
        .collect();
    want.sort();
    assert_eq!(listed, want);
    // Retried: refused again and kept again; then discarded: gone.
    a.cli(&["outbox", "retry", &ids[0].to_string()]);
    assert_eq!(a.rejected().len(), 1);
    a.sync().await;
    assert_eq!(listed_rejected(&a.cli(&["outbox", "list"])).len(), 2);
    for id in &ids {
        a.cli(&["outbox", "discard", &id.to_string()]);
    }
    assert!(a.engine.outbox().unwrap().is_empty());
    assert_eq!(a.engine.outbox_counts().unwrap(), (0, 0));
}

/// A small valid PNG whose bytes depend on `shade`.
fn png(dir: &Path, shade: u8) -> PathBuf {
    let path = dir.join(format!("img-{shade}.png"));
    image::RgbImage::from_pixel(4, 3, image::Rgb([shade, 128, 255 - shade]))
        .save(&path)
        .expect("write png");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_storage_pauses_uploads_while_canvas_changes_sync() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(dir.path());
    config.tiers.free.images = 1;
    let server = TestServer::start_with(config).await;
    let token = server.token("quinn");
    let d = Device::new(&server.url(), &token);
    let p = d.create_project();
    let first = d
        .engine
        .add_media(p, &png(files.path(), 10), 0.0, 0.0)
        .unwrap();
    let report = d.sync().await;
    assert_eq!(report.rejected, 0);
    assert_eq!(d.pending(), 0, "the first image fits");

    let second = d
        .engine
        .add_media(p, &png(files.path(), 200), 50.0, 0.0)
        .unwrap();
    d.engine.move_element(p, first.id, 7.0, 8.0).unwrap();
    d.sync().await;
    let s = status(&d.engine, true).unwrap();
    let reason = s.uploads_paused.expect("uploads are paused");
    assert!(!reason.is_empty());
    assert!(s.indicator.starts_with("Sync paused: "), "{}", s.indicator);
    assert_eq!(
        (s.pending, s.rejected),
        (1, 0),
        "the upload stays queued, not rejected"
    );
    let queued = d.engine.outbox().unwrap();
    assert_eq!(queued[0].payload.kind(), "asset.upload");
    match queued[0].last_error.as_ref() {
        Some(OpError::Quota { error }) => assert_eq!(error.code, ErrorCode::StorageQuotaExceeded),
        other => panic!("the quota reason is not kept: {other:?}"),
    }

    // The canvas synced all the same: both elements and the move are on the server.
    let on_server = by_id(server.project(&token, p).await.canvas);
    let here = by_id(d.canvas(p));
    assert_eq!(on_server, here);
    assert!(here.elements.iter().any(|e| e.id == second.id));
    // Further passes keep it paused and queued (not retried against the full storage).
    d.sync().await;
    assert_eq!(d.pending(), 1);
}
