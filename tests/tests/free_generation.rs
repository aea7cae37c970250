//! The free first image before sign-in (S6) as the desktop engine asks for it, against the real
//! server and the fake fal: no credentials; the placeholder on the LOCAL canvas first; the
//! result read through the capability URL until done; the image downloaded into the local
//! asset store and standing where the placeholder stood. A second request the same day is
//! refused with `ANONYMOUS_QUOTA_EXCEEDED`, its window and reset time, and leaves nothing on the
//! canvas. A restart while waiting picks the request up from the store.

use iskra_engine::generation::GenerateRequest;
use iskra_engine::sync::anonymous::{free_generation, resume_free_generation, FreeOutcome};
use iskra_engine::Engine;
use iskra_fake_fal::{FakeConfig, FakeFal, Progress};
use iskra_protocol::ElementKind;
use iskra_tests::device::eventually;
use iskra_tests::server::TestServer;
use std::time::Duration;

/// Bound of every wait in these tests.
const BOUND: Duration = Duration::from_secs(30);

async fn start(progress: Progress) -> (FakeFal, TestServer, tempfile::TempDir) {
    let fal = FakeFal::start(FakeConfig::with_progress(progress)).await;
    let dir = tempfile::tempdir().expect("server dir");
    let cfg = TestServer::config_with_fal(dir.path(), &fal);
    let server = TestServer::start_with(cfg).await;
    (fal, server, dir)
}

/// A signed-out engine (a fresh data dir) with one project made on this device.
fn signed_out() -> (Engine, uuid::Uuid, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("device dir");
    let engine = Engine::open(dir.path()).expect("engine");
    engine.set_signed_in(false);
    let project = engine.create_project(None).expect("project").id;
    (engine, project, dir)
}

#[tokio::test]
async fn the_free_image_lands_on_the_local_canvas_and_the_second_is_refused() {
    let (_fal, server, _sdir) = start(Progress::Polls {
        queue_polls: 1,
        progress_polls: 1,
    })
    .await;
    let (engine, project, _ddir) = signed_out();
    let url = server.url();
    let req = GenerateRequest::text_to_image("a paper boat on a stormy sea");
    let run = free_generation(&engine, &url, project, &req);
    let watch_placeholder = async {
        // The placeholder stands on the local canvas while the server works.
        eventually("the placeholder on the canvas", BOUND, || {
            let canvas = engine.open_project(project).expect("canvas").canvas;
            let found = canvas
                .elements
                .iter()
                .find(|e| e.kind == ElementKind::Generation)
                .map(|e| e.x + e.width / 2.0);
            async move { found }
        })
        .await
    };
    let (outcome, placeholder_centre) =
        tokio::time::timeout(BOUND, async { tokio::join!(run, watch_placeholder) })
            .await
            .expect("the free image within the bound");
    let outcome = outcome.expect("free generation");
    let FreeOutcome::Completed { element, asset_id } = outcome else {
        panic!("not completed: {outcome:?}");
    };

    // The image replaced the placeholder on the local canvas, its bytes in the asset store.
    let canvas = engine.open_project(project).expect("canvas").canvas;
    assert_eq!(canvas.elements.len(), 1, "{:?}", canvas.elements);
    let placed = &canvas.elements[0];
    assert_eq!(placed.id, element.id);
    assert_eq!(placed.kind, ElementKind::Image);
    assert_eq!(placed.asset_id.as_deref(), Some(asset_id.as_str()));
    // Where the placeholder stood (the default size: 1024 square), at its height.
    assert_eq!(
        (placed.x + placed.width / 2.0, placed.height),
        (placeholder_centre, 1024.0),
        "{placed:?}"
    );
    let record = engine
        .asset(&asset_id)
        .expect("asset store")
        .expect("the image is in the local asset store");
    assert!(engine.asset_path(&record).is_file());
    assert!(record.mime.starts_with("image/"), "{}", record.mime);
    assert_eq!(engine.pending_free_generation().expect("store"), None);

    // A second one the same day: refused with the window, nothing left on the canvas.
    let second = free_generation(&engine, &url, project, &req)
        .await
        .expect("an answer");
    let FreeOutcome::Refused { error } = second else {
        panic!("second free image not refused: {second:?}");
    };
    assert_eq!(error.code, "ANONYMOUS_QUOTA_EXCEEDED");
    let limit = error.limit.expect("the day window");
    assert_eq!(
        (limit.window.as_str(), limit.used, limit.remaining),
        ("day", 1, 0)
    );
    assert_eq!(limit.upgrade_url.as_deref(), Some("iskra://sign-in"));
    assert!(
        limit.resets_at.contains("T00:00:00"),
        "resets at midnight UTC: {}",
        limit.resets_at
    );
    let canvas = engine.open_project(project).expect("canvas").canvas;
    assert_eq!(canvas.elements.len(), 1, "only the first image stays");
}

#[tokio::test]
async fn a_restart_while_waiting_picks_the_free_image_up() {
    let (fal, server, _sdir) = start(Progress::Hold).await;
    let (engine, project, ddir) = signed_out();
    let req = GenerateRequest::text_to_image("a lighthouse at dusk");
    let url = server.url();

    // The app stops while fal still works on it: the request is kept in the store.
    let waiting = {
        let (engine, url, req) = (engine.clone(), url.clone(), req.clone());
        tokio::spawn(async move { free_generation(&engine, &url, project, &req).await })
    };
    let pending = eventually("the request kept in the store", BOUND, || {
        let p = engine.pending_free_generation().expect("store");
        async move { p }
    })
    .await;
    waiting.abort();
    drop(engine);

    // fal finishes (once the server has handed the job to it, which happens after the
    // request was answered); the next start reads the result with the kept capability.
    assert!(
        fal.wait_until(BOUND, |f| f.pending_jobs() == 1).await,
        "the job reached fal (submits: {})",
        fal.submits()
    );
    assert_eq!(fal.release_all(), 1, "the held job was released");
    let engine = Engine::open(ddir.path()).expect("engine again");
    let outcome = tokio::time::timeout(BOUND, resume_free_generation(&engine, &url))
        .await
        .expect("within the bound")
        .expect("resumed")
        .expect("one was waiting");
    let FreeOutcome::Completed { element, .. } = outcome else {
        panic!("not completed after the restart: {outcome:?}");
    };
    let canvas = engine.open_project(project).expect("canvas").canvas;
    let ids: Vec<_> = canvas.elements.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        vec![element.id],
        "the image in place of {}",
        pending.element_id
    );
    assert_eq!(engine.pending_free_generation().expect("store"), None);
}
