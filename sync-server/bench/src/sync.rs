//! Canvas sync load: simulated devices, each with its own project and client id, pushing
//! batches of changes to `POST /v1/projects/{id}/sync` one after the other. Every change sets
//! `x` and `y` of one of [`ELEMENTS`] elements with a fresh op id and the next HLC clock, and
//! every push sends the previous answer's cursor as `since`, as a real client does.

use crate::load::{self, Client, Outcome, Span};
use crate::report::{Bound, Row};
use crate::server::Server;
use anyhow::{ensure, Result};
use iskra_protocol::{Change, Clock, SyncRequest, SyncResponse};
use serde_json::{json, Map};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// Elements of each project that the changes cycle through.
pub const ELEMENTS: usize = 2_000;
/// Changes per batch in the throughput runs.
const BATCH: usize = 100;
/// Untimed batches per device first (with [`BATCH`] changes, one pass over every element, so
/// updates are timed, not inserts).
const WARMUP_BATCHES: usize = ELEMENTS / BATCH;
/// Concurrent devices of the latency run.
const LATENCY_CLIENTS: usize = 50;
/// Target: property changes per second on the embedded default (SQLite).
const TARGET_PROPS_S: f64 = 100_000.0;
/// Target: 99th percentile of a one-change push, ms.
const TARGET_P99_MS: f64 = 5.0;

/// Creates an empty project for the user of `token`; returns its id.
pub async fn new_project(server: &Server, http: &reqwest::Client, token: &str) -> Result<Uuid> {
    let project = Uuid::new_v4();
    let request = http.post(server.url("/v1/projects")).bearer_auth(token);
    let r = request.json(&json!({ "id": project })).send().await?;
    let status = r.status();
    ensure!(status.is_success(), "creating a project: {status}");
    Ok(project)
}

/// One simulated client device editing its own project.
pub struct Device {
    http: reqwest::Client,
    url: String,
    token: String,
    client_id: Uuid,
    clock: Clock,
    cursor: Option<String>,
    elements: Vec<Uuid>,
    pushed: usize,
}

impl Device {
    /// Creates a project for the user of `token` and a device that edits it.
    pub async fn new(server: &Server, http: &reqwest::Client, token: &str) -> Result<Self> {
        let project = new_project(server, http, token).await?;
        Ok(Self::on(server, http, token, project))
    }

    /// A new device of the user of `token` editing `project` (elements of its own).
    pub fn on(server: &Server, http: &reqwest::Client, token: &str, project: Uuid) -> Self {
        let client_id = Uuid::new_v4();
        Self {
            http: http.clone(),
            url: server.url(&format!("/v1/projects/{project}/sync")),
            token: token.to_owned(),
            clock: Clock::new(&client_id.simple().to_string()[..8]),
            client_id,
            cursor: None,
            elements: (0..ELEMENTS).map(|_| Uuid::new_v4()).collect(),
            pushed: 0,
        }
    }

    /// The next change: `x` and `y` of the next element in turn.
    fn next_change(&mut self, now: u64) -> Change {
        self.pushed += 1;
        let v = self.pushed as f64;
        let set = Map::from_iter([("x".into(), json!(v)), ("y".into(), json!(-v))]);
        Change {
            op_id: Change::new_op_id(),
            element_id: self.elements[self.pushed % ELEMENTS].to_string(),
            set: Some(set),
            delete: None,
            clock: self.clock.tick(now),
        }
    }

    /// Pushes `n` changes and checks that all were applied; returns the properties set.
    pub async fn push(&mut self, n: usize) -> Result<u64> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
        let changes = (0..n).map(|_| self.next_change(now)).collect();
        let (client_id, since) = (self.client_id, self.cursor.take());
        let body = SyncRequest {
            client_id,
            since,
            changes,
        };
        let request = self.http.post(&self.url).bearer_auth(&self.token);
        let r = request.json(&body).send().await?;
        let status = r.status();
        ensure!(status.is_success(), "sync: {status}: {}", r.text().await?);
        let answer: SyncResponse = r.json().await?;
        ensure!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        self.cursor = Some(answer.cursor);
        Ok(2 * n as u64)
    }
}

/// A device pushing batches of a fixed size.
struct Pusher(Device, usize);

impl Client for Pusher {
    async fn once(&mut self) -> Result<u64> {
        self.0.push(self.1).await
    }
}

/// Runs `n` concurrent devices of `user`, each pushing `batch`-change batches in
/// sequence: [`WARMUP_BATCHES`] untimed, then (all starting together) for `span`.
/// With `pace`, each device pushes at most once per `pace` (an interactive editing rate)
/// instead of back to back.
async fn run(
    server: &Server,
    user: &str,
    n: usize,
    batch: usize,
    span: Span,
    pace: Option<Duration>,
) -> Result<Outcome> {
    let token = server.token(user).await?;
    let http = reqwest::Client::new();
    let mut devices = Vec::with_capacity(n);
    for _ in 0..n {
        devices.push(Pusher(Device::new(server, &http, &token).await?, batch));
    }
    load::drive(devices, WARMUP_BATCHES, span, pace).await
}

/// Measurement 1: property changes/s with one device, then two devices on two projects.
pub async fn throughput(server: &Server, span: Span) -> Result<Vec<Row>> {
    ingest(server, span, "", Bound::Min(TARGET_PROPS_S)).await
}

/// Measurement 1 on a server of another backend (`backend` names it in the rows): the figure,
/// without the embedded default's target.
pub async fn throughput_on(server: &Server, span: Span, backend: &str) -> Result<Vec<Row>> {
    ingest(server, span, &format!(" on {backend}"), Bound::Info).await
}

async fn ingest(server: &Server, span: Span, on: &str, bound: Bound) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for devices in [1, 2] {
        let out = run(server, "bench-sync", devices, BATCH, span, None).await?;
        let name = format!("sync push{on}, {devices} client(s) x {BATCH} changes");
        let rate = out.units as f64 / out.elapsed.as_secs_f64();
        rows.push(Row::new(name, rate, "props/s", bound));
    }
    Ok(rows)
}

/// Interval between one device's pushes in the paced run: 10 edits/s per device, faster than
/// a person drags, so 50 devices push 500 times a second together.
const PACE: Duration = Duration::from_millis(100);

/// Measurement 2: latency of one-change pushes from [`LATENCY_CLIENTS`] concurrent devices,
/// paced at an interactive rate (the target) and back to back (saturation; by Little's law
/// its latency is the device count over the server's transaction rate).
pub async fn latency(server: &Server, span: Span) -> Result<Vec<Row>> {
    let n = LATENCY_CLIENTS;
    let mut rows = Vec::new();
    for (mode, pace, bound) in [
        ("paced 10/s each", Some(PACE), Bound::Max(TARGET_P99_MS)),
        ("back to back", None, Bound::Info),
    ] {
        let out = run(server, "bench-latency", n, 1, span, pace).await?;
        let name = |what: &str| format!("1-change push {what}, {n} clients {mode}");
        rows.push(Row::new(
            name("p50"),
            out.percentile_ms(0.50),
            "ms",
            Bound::Info,
        ));
        rows.push(Row::new(name("p99"), out.percentile_ms(0.99), "ms", bound));
        rows.push(Row::new(name("rate"), out.rate(), "req/s", Bound::Info));
    }
    Ok(rows)
}
