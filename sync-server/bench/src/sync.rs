//! Canvas sync load: simulated devices, each with its own project and client id, pushing
//! batches of changes to `POST /v1/projects/{id}/sync` one after the other. Every change sets
//! `x` and `y` of one of [`ELEMENTS`] elements with a fresh op id and the next HLC clock, and
//! every push sends the cursor of the previous answer as `since`, as a real client does.

use crate::report::{Row, Target};
use crate::server::Server;
use anyhow::{ensure, Result};
use iskra_protocol::{Change, Clock, SyncRequest, SyncResponse};
use serde_json::{json, Map};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Barrier;
use uuid::Uuid;

/// Elements of each project that the changes cycle through.
pub const ELEMENTS: usize = 2_000;
/// Properties each change sets (`x` and `y`).
const PROPS_PER_CHANGE: u64 = 2;
/// Changes per batch in the throughput runs.
const BATCH: usize = 100;
/// Untimed batches first: one pass over every element, so updates are measured, not inserts.
const WARMUP_BATCHES: usize = ELEMENTS / BATCH;
/// Concurrent devices of the latency run.
const LATENCY_CLIENTS: usize = 50;
/// Target: property changes per second on the embedded default (SQLite).
const TARGET_PROPS_PER_SEC: f64 = 20_000.0;
/// Target: 99th percentile of a one-change push, in ms.
const TARGET_P99_MS: f64 = 5.0;

/// How long a timed run lasts.
#[derive(Debug, Clone, Copy)]
pub enum Span {
    /// This long.
    For(Duration),
    /// This many batches per device.
    Batches(u64),
}

/// One simulated client device with its own project.
pub struct Device {
    http: reqwest::Client,
    sync_url: String,
    token: String,
    client_id: Uuid,
    clock: Clock,
    cursor: Option<String>,
    elements: Vec<Uuid>,
    next: usize,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Device {
    /// Creates a project for the user of `token` and a device that edits it.
    pub async fn new(server: &Server, http: &reqwest::Client, token: &str) -> Result<Self> {
        let project = Uuid::new_v4();
        let r = http
            .post(server.url("/v1/projects"))
            .bearer_auth(token)
            .json(&json!({ "id": project }))
            .send()
            .await?;
        ensure!(r.status().is_success(), "creating a project: {}", r.status());
        let client_id = Uuid::new_v4();
        Ok(Self {
            http: http.clone(),
            sync_url: server.url(&format!("/v1/projects/{project}/sync")),
            token: token.to_owned(),
            clock: Clock::new(&client_id.simple().to_string()[..6]),
            client_id,
            cursor: None,
            elements: (0..ELEMENTS).map(|_| Uuid::new_v4()).collect(),
            next: 0,
        })
    }

    /// Pushes one batch of `n` changes to the next elements in turn; returns the properties set.
    pub async fn push(&mut self, n: usize) -> Result<u64> {
        let now = now_ms();
        let changes = (0..n)
            .map(|_| {
                let element = self.elements[self.next % ELEMENTS];
                self.next += 1;
                let v = self.next as f64;
                Change {
                    op_id: Uuid::new_v4(),
                    element_id: element.to_string(),
                    set: Some(Map::from_iter([("x".into(), json!(v)), ("y".into(), json!(-v))])),
                    delete: None,
                    clock: self.clock.tick(now),
                }
            })
            .collect();
        let req = SyncRequest { client_id: self.client_id, since: self.cursor.clone(), changes };
        let r = self.http.post(&self.sync_url).bearer_auth(&self.token).json(&req).send().await?;
        let status = r.status();
        ensure!(status.is_success(), "sync answered {status}: {}", r.text().await?);
        let answer: SyncResponse = r.json().await?;
        ensure!(answer.rejected.is_empty(), "changes rejected: {:?}", answer.rejected[0]);
        self.cursor = Some(answer.cursor);
        Ok(n as u64 * PROPS_PER_CHANGE)
    }
}

/// What the devices of one run achieved together.
struct Outcome {
    props: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Outcome {
    fn props_per_sec(&self) -> f64 {
        self.props as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p` quantile (0–1) of the push latencies, in ms.
    fn latency_ms(&self, p: f64) -> f64 {
        let i = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1e3
    }
}

/// Runs `devices` concurrent devices of `user`, each pushing `batch`-change batches in
/// sequence: `warmup` untimed batches, then (all starting together) a timed `span`.
async fn run(server: &Server, user: &str, devices: usize, batch: usize, warmup: usize, span: Span) -> Result<Outcome> {
    let token = server.token(user).await?;
    let http = reqwest::Client::new();
    let barrier = Arc::new(Barrier::new(devices));
    let mut tasks = Vec::with_capacity(devices);
    for _ in 0..devices {
        let mut device = Device::new(server, &http, &token).await?;
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..warmup {
                device.push(batch).await?;
            }
            barrier.wait().await;
            let (start, mut props, mut latencies) = (Instant::now(), 0, Vec::new());
            while match span {
                Span::For(d) => start.elapsed() < d,
                Span::Batches(n) => (latencies.len() as u64) < n,
            } {
                let t = Instant::now();
                props += device.push(batch).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(Outcome { props, elapsed: start.elapsed(), latencies })
        }));
    }
    let mut total = Outcome { props: 0, elapsed: Duration::ZERO, latencies: Vec::new() };
    for task in tasks {
        let o = task.await??;
        total.props += o.props;
        total.elapsed = total.elapsed.max(o.elapsed);
        total.latencies.extend(o.latencies);
    }
    total.latencies.sort_unstable();
    Ok(total)
}

/// Measurement 1: property changes/s with one device, then two devices on two projects.
pub async fn throughput(server: &Server, span: Span) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for devices in [1, 2] {
        let o = run(server, &format!("bench-sync{devices}"), devices, BATCH, WARMUP_BATCHES, span).await?;
        let name = format!("sync push, {devices} client(s), {BATCH}-change batches");
        rows.push(Row::new(name, o.props_per_sec(), "props/s", Target::AtLeast(TARGET_PROPS_PER_SEC)));
    }
    Ok(rows)
}

/// Measurement 2: latency of one-change pushes from [`LATENCY_CLIENTS`] concurrent devices.
pub async fn latency(server: &Server, span: Span) -> Result<Vec<Row>> {
    let o = run(server, "bench-latency", LATENCY_CLIENTS, 1, 10, span).await?;
    let n = LATENCY_CLIENTS;
    Ok(vec![
        Row::new(format!("1-change push p50, {n} clients"), o.latency_ms(0.50), "ms", Target::Info),
        Row::new(format!("1-change push p99, {n} clients"), o.latency_ms(0.99), "ms", Target::AtMost(TARGET_P99_MS)),
        Row::new(
            format!("1-change pushes/s, {n} clients"),
            o.latencies.len() as f64 / o.elapsed.as_secs_f64(),
            "req/s",
            Target::Info,
        ),
    ])
}
