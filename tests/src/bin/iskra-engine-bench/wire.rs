//! Figures over a real server on loopback: the bytes one moved element costs on the wire (the
//! push body, exactly as the engine serialises it, and the whole sync pass as counted by a
//! proxy) beside a full-state save of the same canvas (the old "save the whole canvas every
//! 10 s" design), and — where the size asks for it — the time from an edit on device A to its
//! arrival on device B through the server's event stream (B runs its live sync loop; it is
//! never told to sync).

use crate::{percentile, seed, Row, Size, PUSH_BYTES_MAX};
use iskra_engine::sync::{SyncClient, MIN_PASS_INTERVAL};
use iskra_protocol::SyncRequest;
use iskra_tests::device::Device;
use iskra_tests::proxy::Proxy;
use iskra_tests::server::TestServer;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Edits timed from A to B.
const LIVE_EDITS: usize = 50;
/// Longest wait for a whole canvas to reach the server or the other device.
const BOUND: Duration = Duration::from_secs(600);

/// Bytes of the push of one moved element, of the whole pass, and of a full-state save.
async fn bytes_rows(
    a: &Device,
    proxy: &Proxy,
    token: &str,
    p: Uuid,
    el: Uuid,
) -> anyhow::Result<Vec<Row>> {
    let via_proxy = SyncClient::new(a.engine.clone(), &proxy.url(), token)?;
    let receipt = a.engine.move_element(p, el, 4242.0, 2424.0)?;
    let push = SyncRequest {
        client_id: a.engine.client_id(),
        since: a.engine.sync_cursor(p)?,
        changes: receipt.changes,
    };
    let body = serde_json::to_vec(&push)?.len();
    let (up, down) = (proxy.bytes_up(), proxy.bytes_down());
    let report = via_proxy.sync_once().await?;
    anyhow::ensure!(report.sent == 1, "one operation sent, not {}", report.sent);
    let (up, down) = (proxy.bytes_up() - up, proxy.bytes_down() - down);
    let full = serde_json::to_vec(&a.canvas(p))?.len();
    Ok(vec![
        Row {
            name: "sync one moved element: push request body".into(),
            figure: format!("{body} B"),
            target: format!("≤ {PUSH_BYTES_MAX} B"),
            pass: body <= PUSH_BYTES_MAX,
        },
        Row::info(
            "  whole sync pass on the wire (HTTP, push + pull), up / down",
            format!("{up} / {down} B"),
        ),
        Row::info("full-state save of the same canvas", format!("{full} B")),
        Row::info(
            "  full-state save ÷ push body",
            format!("{:.0}×", full as f64 / body as f64),
        ),
    ])
}

/// Edit on A (acknowledged and pushed) → applied on B, `LIVE_EDITS` times.
async fn live_rows(a: &Device, b: &Device, p: Uuid, el: Uuid) -> anyhow::Result<Vec<Row>> {
    let mut samples = Vec::with_capacity(LIVE_EDITS);
    // One warm-up edit first: B's loop has just started and its passes are being spaced.
    for i in 0..=LIVE_EDITS {
        let before = b.engine.sync_cursor(p)?;
        let t = Instant::now();
        a.engine.move_element(p, el, i as f64, -(i as f64))?;
        a.try_sync().await?;
        // B stores its pull cursor in the transaction that applied the pulled changes.
        while b.engine.sync_cursor(p)? == before {
            anyhow::ensure!(t.elapsed() < BOUND, "edit {i} did not reach B");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if i > 0 {
            samples.push(t.elapsed());
        }
        // Paced like separate user actions: B's loop spaces its passes by MIN_PASS_INTERVAL
        // and may run one more pass after the one that applied this edit.
        tokio::time::sleep(2 * MIN_PASS_INTERVAL).await;
    }
    Ok(vec![
        Row::info(
            "edit on A visible on B via SSE, p50",
            crate::ms(percentile(&mut samples, 50.0)),
        ),
        Row::time(
            "edit on A visible on B via SSE, p99 (50 edits, 1 s apart)",
            percentile(&mut samples, 99.0),
            Duration::from_millis(100),
        ),
    ])
}

/// The wire rows of one size's table.
pub async fn run(size: &Size) -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(dir.path()).await;
    let token = server.token("bench");
    let proxy = Proxy::start(server.addr()).await;
    let a = Device::new(&server.url(), &token);
    let (p, ids) = seed::project(&a.engine, size.elements)?;
    a.sync_until_flushed(BOUND).await;
    let mut rows = bytes_rows(&a, &proxy, &token, p, ids[0]).await?;
    if !size.live {
        return Ok(rows);
    }
    let mut b = Device::new(&server.url(), &token);
    b.sync_until_flushed(BOUND).await;
    anyhow::ensure!(
        b.canvas(p).elements.len() == ids.len(),
        "B has the whole canvas"
    );
    b.start_watch();
    rows.extend(live_rows(&a, &b, p, ids[1]).await?);
    b.stop_watch().await;
    Ok(rows)
}
