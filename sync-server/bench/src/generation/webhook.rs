//! fal completion → `generation.updated` on a connected device: the server runs in webhook
//! mode (its public URL is its own loopback address) against a fake fal that holds every job
//! (`Progress::Hold`); a device holds `GET /v1/events` open. For each job, once the device
//! has seen it `running` (fal has it and the server stored fal's request id), the benchmark
//! releases it at the fake — which then sends the signed webhook — and times the release until
//! the device receives the job `completed`: webhook verified and recorded, a worker woken, the
//! result read, the output downloaded, checked and stored, the canvas written, the event sent.

use super::events::Watcher;
use super::{Pipeline, User};
use crate::load::percentile_ms;
use crate::report::{Bound, Report, Row};
use anyhow::{ensure, Context, Result};
use chrono::{DateTime, Utc};
use futures::future::try_join_all;
use iskra_fake_fal::{FakeFal, Progress};
use iskra_protocol::GenerationStatus;
use std::path::Path;
use std::time::{Duration, Instant};

/// Jobs in flight at once.
const LANES: usize = 4;
/// Untimed jobs per lane first (the first webhook also fetches fal's JWKS).
const WARMUP: usize = 2;
/// Longest wait for one event.
const WAIT: Duration = Duration::from_secs(30);
/// Target: 99th percentile from fal's completion to the device's event, ms.
const TARGET_P99_MS: f64 = 50.0;

/// Where the time from fal's completion to the device's event went: in the server until it
/// marked the job completed (its `completedAt`), then until the event arrived. Wall-clock
/// readings, so to the millisecond of `completedAt`.
#[derive(Clone, Copy)]
struct Timing {
    total: Duration,
    server: Duration,
    delivery: Duration,
}

/// Runs one job through: submit, wait until running, release at fal; returns the time from
/// the release to the device's `completed` event.
async fn one(user: &User, fal: &FakeFal, watcher: &Watcher, prompt: String) -> Result<Timing> {
    let g = user.submit(prompt.clone()).await?;
    watcher.wait(g.id, GenerationStatus::Running, WAIT).await?;
    let request = fal
        .submissions()
        .into_iter()
        .find(|s| s.input["prompt"] == prompt.as_str())
        .context("fal never got the job")?
        .request_id;
    let (released, released_wall) = (Instant::now(), Utc::now());
    ensure!(fal.release(&request), "fal did not hold {request}");
    let (arrived, done) = watcher
        .wait(g.id, GenerationStatus::Completed, WAIT)
        .await?;
    let total = arrived.saturating_duration_since(released);
    let completed = done.completed_at.context("completed without a time")?;
    let completed = DateTime::parse_from_rfc3339(&completed)?.with_timezone(&Utc);
    let server = (completed - released_wall).to_std().unwrap_or_default();
    Ok(Timing {
        total,
        server,
        delivery: total.saturating_sub(server),
    })
}

/// Measurement 8: release at fal → `generation.updated` (completed), over `n` jobs.
pub async fn run(bin: &Path, n: usize, report: &mut Report) -> Result<()> {
    let label = "generation webhook";
    let pipeline = Pipeline::start(bin, label, Progress::Hold, true, &[]).await?;
    let result = measure(&pipeline, n).await;
    pipeline.stop(&mut report.notes).await;
    report.rows.extend(result?);
    Ok(())
}

async fn measure(pipeline: &Pipeline, n: usize) -> Result<Vec<Row>> {
    let fal = &pipeline.fal;
    let user = pipeline.users("bench-gen-webhook", 1).await?.remove(0);
    let watcher = Watcher::open(&pipeline.server, user.token()).await?;
    let (user, watcher) = (&user, &watcher);
    let lane = |lane: usize| async move {
        let mut latencies = Vec::new();
        for i in 0..WARMUP + n.div_ceil(LANES) {
            let timed = one(user, fal, watcher, format!("webhook {lane} {i}")).await?;
            if i >= WARMUP {
                latencies.push(timed);
            }
        }
        anyhow::Ok(latencies)
    };
    let timings: Vec<Timing> = try_join_all((0..LANES).map(lane)).await?.concat();
    ensure!(
        fal.webhooks_delivered() >= timings.len(),
        "not every job was completed by its webhook"
    );
    let sorted = |part: fn(&Timing) -> Duration| {
        let mut v: Vec<Duration> = timings.iter().map(part).collect();
        v.sort_unstable();
        v
    };
    let (total, server, delivery) = (
        sorted(|t| t.total),
        sorted(|t| t.server),
        sorted(|t| t.delivery),
    );
    let name = |what: &str| format!("fal completion -> SSE {what}, {LANES} at a time");
    let ms = percentile_ms;
    Ok(vec![
        Row::new(name("p50"), ms(&total, 0.50), "ms", Bound::Info),
        Row::new(
            name("p99"),
            ms(&total, 0.99),
            "ms",
            Bound::Max(TARGET_P99_MS),
        ),
        Row::new(name("max"), ms(&total, 1.0), "ms", Bound::Info),
        Row::new(name("p50 in server"), ms(&server, 0.50), "ms", Bound::Info),
        Row::new(name("p99 in server"), ms(&server, 0.99), "ms", Bound::Info),
        Row::new(
            name("p50 in delivery"),
            ms(&delivery, 0.50),
            "ms",
            Bound::Info,
        ),
        Row::new(
            name("p99 in delivery"),
            ms(&delivery, 0.99),
            "ms",
            Bound::Info,
        ),
    ])
}
