//! Acceptance 2 (S3, D4): two devices of one user against a real server on loopback.
//!
//! - Both edit one project while the server is down — different elements, different
//!   properties of one element, the same property (a true conflict), and a delete racing a
//!   move with the delete's clock later in one case and earlier in the other. Once the server
//!   is back and each device synced twice, both devices and the server hold the same canvas:
//!   every non-conflicting edit is kept and every conflict went to the later clock.
//! - An edit on one device reaches the other through the live event stream, without the
//!   second device being asked to sync.

use iskra_engine::store::now_ms;
use iskra_engine::{EditReceipt, NewElement};
use iskra_protocol::{Canvas, Element, Hlc};
use iskra_tests::device::{by_id, eventually, Device};
use iskra_tests::server::TestServer;
use serde_json::{json, Map, Value};
use std::time::Duration;
use uuid::Uuid;

const BOUND: Duration = Duration::from_secs(20);

fn props(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

/// The clock of the single change an edit committed.
fn clock(r: &EditReceipt) -> Hlc {
    assert_eq!(r.changes.len(), 1);
    r.changes[0].clock.clone()
}

/// Waits until the wall clock is past `c`, so the next edit on any device has a later clock.
async fn after(c: &Hlc) {
    eventually("the wall clock to move on", BOUND, || async {
        (now_ms() > c.millis).then_some(())
    })
    .await;
}

fn find(c: &Canvas, id: Uuid) -> Option<&Element> {
    c.elements.iter().find(|e| e.id == id)
}

/// A server, two devices of one user and a project with `n` elements both devices have.
async fn setup(dir: &std::path::Path, n: usize) -> (TestServer, Device, Device, Uuid, Vec<Uuid>) {
    let server = TestServer::start(dir).await;
    let token = server.token("alice");
    let a = Device::new(&server.url(), &token);
    let b = Device::new(&server.url(), &token);
    let p = a.create_project();
    let ids = (0..n)
        .map(|i| {
            let el = NewElement::image(None, i as f64 * 200.0, 0.0, 100.0, 80.0);
            a.engine.add_element(p, &el).expect("add").0.id
        })
        .collect();
    a.sync().await;
    let report = b.sync().await;
    assert_eq!(report.new_projects, 1);
    assert_eq!(by_id(b.canvas(p)), by_id(a.canvas(p)));
    (server, a, b, p, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_on_two_devices_converge_by_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, a, b, p, el) = setup(dir.path(), 6).await;
    let token = server.token("alice");
    server.stop().await;

    // Different elements.
    a.engine.move_element(p, el[0], 11.0, 12.0).unwrap();
    b.engine.move_element(p, el[1], 21.0, 22.0).unwrap();
    // Different properties of one element.
    a.engine
        .set_properties(p, el[2], props(json!({"rotation": 45.0})))
        .unwrap();
    b.engine
        .set_properties(p, el[2], props(json!({"width": 333.0})))
        .unwrap();
    // The same property: B writes later, so B wins.
    let a_width = clock(
        &a.engine
            .set_properties(p, el[3], props(json!({"height": 1.0})))
            .unwrap(),
    );
    after(&a_width).await;
    let b_width = clock(
        &b.engine
            .set_properties(p, el[3], props(json!({"height": 2.0})))
            .unwrap(),
    );
    // A moves what B deletes later: the delete wins.
    let a_move = clock(&a.engine.move_element(p, el[4], 41.0, 42.0).unwrap());
    after(&a_move).await;
    let b_delete = clock(&b.engine.delete_element(p, el[4]).unwrap());
    // B deletes what A moves later: the move wins and the element stays.
    let b_delete_early = clock(&b.engine.delete_element(p, el[5]).unwrap());
    after(&b_delete_early).await;
    let a_move_late = clock(&a.engine.move_element(p, el[5], 51.0, 52.0).unwrap());
    assert!(b_width > a_width && b_delete > a_move && a_move_late > b_delete_early);

    // Offline: nothing leaves, nothing is lost.
    let offline = a.try_sync().await.expect_err("the server is down");
    assert!(offline.is_offline(), "{offline}");
    assert!(a.pending() > 0 && b.pending() > 0);

    server.restart().await;
    // Twice each, so each pulls the other's; A's first pass waits out its offline backoff.
    for device in [&a, &b, &a, &b] {
        device.sync_until_flushed(BOUND).await;
    }
    assert_eq!((a.pending(), b.pending()), (0, 0));

    let on_a = by_id(a.canvas(p));
    let on_b = by_id(b.canvas(p));
    let on_server = by_id(server.project(&token, p).await.canvas);
    assert_eq!(on_a, on_b, "both devices hold the same canvas");
    assert_eq!(on_a, on_server, "the server holds the same canvas");

    let get = |id: Uuid| find(&on_a, id).unwrap_or_else(|| panic!("{id} is missing"));
    assert_eq!((get(el[0]).x, get(el[0]).y), (11.0, 12.0));
    assert_eq!((get(el[1]).x, get(el[1]).y), (21.0, 22.0));
    assert_eq!((get(el[2]).rotation, get(el[2]).width), (45.0, 333.0));
    assert_eq!(
        get(el[3]).height,
        2.0,
        "the later write of one property wins"
    );
    assert!(
        find(&on_a, el[4]).is_none(),
        "a later delete wins over a move"
    );
    assert_eq!(
        (get(el[5]).x, get(el[5]).y),
        (51.0, 52.0),
        "a later move survives"
    );
    assert_eq!(on_a.elements.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_reaches_the_other_device_through_the_event_stream() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, a, mut b, p, el) = setup(dir.path(), 1).await;
    b.start_watch();

    // An edit to a known project, and a project B has never seen.
    a.engine.move_element(p, el[0], 777.0, 888.0).unwrap();
    let q = a.create_project();
    let (added, _) = a
        .engine
        .add_element(q, &NewElement::image(None, 5.0, 6.0, 7.0, 8.0))
        .unwrap();
    a.sync().await;

    eventually("B to show A's move", BOUND, || async {
        let c = b.canvas(p);
        find(&c, el[0])
            .filter(|e| (e.x, e.y) == (777.0, 888.0))
            .map(|_| ())
    })
    .await;
    eventually("B to show A's new project", BOUND, || async {
        let c = b.engine.open_project(q).ok()?.canvas;
        find(&c, added.id).map(|_| ())
    })
    .await;
    assert_eq!(by_id(b.canvas(q)), by_id(a.canvas(q)));
    b.stop_watch().await;
}
