//! Acceptance 3 (D4, X1): 500 canvas edits made offline reach the server exactly once after
//! reconnecting — checked on the server's change log (each op id exactly once, none missing)
//! and on its materialised canvas (equal to the device's) — even when the server restarts in
//! the middle of the flush, or when a proxy cuts connections at random while it runs. The
//! outbox ends empty with nothing rejected.

use iskra_engine::NewElement;
use iskra_tests::device::{by_id, eventually, Device};
use iskra_tests::proxy::{Chaos, Proxy};
use iskra_tests::server::TestServer;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// Offline edits: PROJECTS lanes of ADDS element creations and MOVES moves each.
const PROJECTS: usize = 10;
const ADDS: usize = 10;
const MOVES: usize = 40;
const FLUSH_BOUND: Duration = Duration::from_secs(180);

/// The edits made offline: op ids per project.
type Made = HashMap<Uuid, Vec<Uuid>>;

/// Makes 500 canvas edits (every move to a distinct position) in new projects.
fn edit_offline(d: &Device) -> Made {
    let mut made = Made::new();
    let mut n = 0.0;
    for _ in 0..PROJECTS {
        let p = d.create_project();
        let ops = made.entry(p).or_default();
        let mut ids = Vec::new();
        for _ in 0..ADDS {
            let (el, r) = d
                .engine
                .add_element(p, &NewElement::image(None, n, 0.0, 10.0, 10.0))
                .unwrap();
            ids.push(el.id);
            ops.extend(r.op_ids());
            n += 1.0;
        }
        for i in 0..MOVES {
            let r = d.engine.move_element(p, ids[i % ADDS], n, -n).unwrap();
            ops.extend(r.op_ids());
            n += 1.0;
        }
    }
    assert_eq!(made.values().map(Vec::len).sum::<usize>(), 500);
    made
}

/// Every edit is on the server exactly once, and the server's canvases equal the device's.
async fn assert_exactly_once(server: &TestServer, token: &str, d: &Device, made: &Made) {
    assert_eq!(d.pending(), 0, "the outbox is empty");
    assert!(d.rejected().is_empty(), "nothing was refused");
    for (p, ops) in made {
        let log = server.change_log(token, *p).await;
        let mut seen: HashMap<Uuid, usize> = HashMap::new();
        for c in &log.changes {
            *seen.entry(c.op_id).or_default() += 1;
        }
        for op in ops {
            assert_eq!(
                seen.get(op),
                Some(&1),
                "op {op} of project {p} applied once"
            );
        }
        assert_eq!(
            log.changes.len(),
            ops.len(),
            "no other change in project {p}"
        );
        let on_server = by_id(server.project(token, *p).await.canvas);
        let here = by_id(d.canvas(*p));
        assert_eq!(on_server, here, "project {p}");
        assert_eq!(here.elements.len(), ADDS);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_arrive_once_across_a_server_restart_mid_flush() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(dir.path()).await;
    let token = server.token("olga");
    let d = Device::new(&server.url(), &token);
    server.stop().await;
    let made = edit_offline(&d);
    assert!(d.try_sync().await.unwrap_err().is_offline());
    server.restart().await;

    let flush = d.sync_until_flushed(FLUSH_BOUND);
    let restart = async {
        // As soon as the server acknowledged the first project, restart it under the flush.
        eventually("the flush to begin", FLUSH_BOUND, || async {
            let known = d.engine.remote_project_ids().ok()?;
            (!known.is_empty()).then_some(())
        })
        .await;
        server.stop().await;
        // Counted while the server is down: what is pending now can only arrive after the
        // restart.
        let pending = d.pending();
        server.restart().await;
        eprintln!("restarted with {pending} of 510 operations pending");
        pending
    };
    let ((), pending) = tokio::join!(flush, restart);
    assert!(
        pending > 0,
        "operations were still pending when the server went down (the flush had ended: the \
         restart did not happen mid-flush)"
    );
    assert_exactly_once(&server, &token, &d, &made).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_arrive_once_through_connections_cut_at_random() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let token = server.token("pavel");
    let proxy = Proxy::start(server.addr()).await;
    let d = Device::new(&proxy.url(), &token);
    proxy.set_refusing(true);
    let made = edit_offline(&d);
    assert!(d.try_sync().await.unwrap_err().is_offline());
    proxy.set_refusing(false);

    let chaos = Chaos {
        probability: 0.9,
        max_bytes: 32 * 1024,
    };
    proxy.set_chaos(Some(chaos), 0x15c4a);
    d.sync_until_flushed(FLUSH_BOUND).await;
    proxy.set_chaos(None, 0);
    eprintln!(
        "{} connections, {} cut mid-stream",
        proxy.connections(),
        proxy.cuts()
    );
    assert!(
        proxy.cuts() > 0,
        "the proxy cut connections during the flush"
    );
    assert_exactly_once(&server, &token, &d, &made).await;
}
