//! The load test (`iskra-bench --load`): a fleet of connected devices, as a busy server sees
//! them. Devices come in pairs, two per user on one shared project; each holds its event stream
//! (`GET /v1/events`) open and pushes one change every [`PUSH_EVERY`] at its own phase, so the
//! server answers pushes while it fans every change out to both of the user's streams. Run at
//! [`FLEETS`] sizes on each backend; every push's latency is recorded and drawn as a histogram
//! ([`crate::histogram`]), beside the flushes the disk gave meanwhile ([`crate::disk`]).

use crate::database::Scratch;
use crate::disk;
use crate::histogram::Histogram;
use crate::load::{self, Client, Outcome, Span};
use crate::report::{Bound, Report, Row};
use crate::server::Server;
use crate::sync::{new_project, Device};
use crate::Args;
use anyhow::{ensure, Context, Result};
use futures::{StreamExt, TryStreamExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// Fleet sizes and the push p99 each must hold, ms.
pub const FLEETS: [(usize, f64); 2] = [(50, 2.0), (1_000, 5.0)];
/// Interval between one device's pushes.
const PUSH_EVERY: Duration = Duration::from_secs(1);
/// Untimed pushes per device first (the first push of a device creates its elements).
const WARMUP: usize = 3;
/// Streams being opened at any moment.
const OPENING_AT_ONCE: usize = 100;
/// Users being set up (token minted by the server's command, project created) at any moment.
const SETTING_UP_AT_ONCE: usize = 8;
/// What a stream carries for each change.
const EVENT: &[u8] = b"event: project.changed";

/// One device pushing one change at a time.
struct Pusher(Device);

impl Client for Pusher {
    async fn once(&mut self) -> Result<u64> {
        self.0.push(1).await
    }
}

/// What one fleet run measured.
pub struct FleetRun {
    /// Devices in the fleet.
    pub devices: usize,
    /// Every timed push.
    pub outcome: Outcome,
    /// `project.changed` events the streams received, warm-up included.
    pub events: u64,
    /// Pushes made, warm-up included.
    pub pushes: usize,
    /// The server's RSS growth with the fleet connected, MB.
    pub growth_mb: f64,
    /// The disk's flushes meanwhile ([`disk::Probe`]), sorted.
    pub flushes: Vec<Duration>,
}

impl FleetRun {
    /// The run's rows, `label` naming the backend, against a push p99 of `p99_ms`.
    pub fn rows(&self, label: &str, p99_ms: f64) -> Vec<Row> {
        let n = self.devices;
        let name = |what: &str| format!("{label}: {n} devices, 1 push/s + SSE each: {what}");
        let per_push = self.events as f64 / self.pushes.max(1) as f64;
        let mut rows = vec![
            Row::new(
                name("push p50"),
                self.outcome.percentile_ms(0.50),
                "ms",
                Bound::Info,
            ),
            Row::new(
                name("push p99"),
                self.outcome.percentile_ms(0.99),
                "ms",
                Bound::Max(p99_ms),
            ),
            Row::new(
                name("push max"),
                self.outcome.percentile_ms(1.0),
                "ms",
                Bound::Info,
            ),
            Row::new(name("pushes"), self.outcome.rate(), "req/s", Bound::Info),
            Row::new(name("events per push"), per_push, "events", Bound::Info),
            Row::new(name("server RSS growth"), self.growth_mb, "MB", Bound::Info),
        ];
        for (what, p) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
            rows.push(Row::new(
                name(&format!("disk flush meanwhile (4 KiB + fdatasync) {what}")),
                load::percentile_ms(&self.flushes, p),
                "ms",
                Bound::Info,
            ));
        }
        rows
    }

    /// The latency histogram of this run's pushes.
    pub fn histogram(&self, label: &str) -> Histogram<'_> {
        Histogram {
            title: format!(
                "{label}: one-change push, {} devices at 1 push/s with an open event stream each",
                self.devices
            ),
            latencies: &self.outcome.latencies,
        }
    }
}

/// Counts `project.changed` events on `stream` into `events` until it ends.
async fn count_events(mut stream: reqwest::Response, events: Arc<AtomicU64>) {
    // The tail of the previous chunk, so an event name split across chunks still counts once.
    let mut carry: Vec<u8> = Vec::new();
    while let Ok(Some(chunk)) = stream.chunk().await {
        carry.extend_from_slice(&chunk);
        let found = carry.windows(EVENT.len()).filter(|w| *w == EVENT).count();
        events.fetch_add(found as u64, Ordering::Relaxed);
        let keep = carry.len().min(EVENT.len() - 1);
        carry.drain(..carry.len() - keep);
    }
}

/// Runs `devices` devices (rounded up to pairs) against `server` for `span`.
pub async fn run(server: &Server, devices: usize, span: Span) -> Result<FleetRun> {
    let users = devices.div_ceil(2);
    let http = reqwest::Client::new();
    let before = server.memory()?.rss;
    let set_up = |u: usize| {
        let http = http.clone();
        async move {
            let token = server.token(&format!("bench-fleet-{devices}-{u}")).await?;
            let project = new_project(server, &http, &token).await?;
            anyhow::Ok((token, project))
        }
    };
    let accounts: Vec<(String, uuid::Uuid)> = futures::stream::iter(0..users)
        .map(set_up)
        .buffer_unordered(SETTING_UP_AT_ONCE)
        .try_collect()
        .await?;
    let mut pushers = Vec::with_capacity(users * 2);
    let mut tokens = Vec::with_capacity(users * 2);
    for (token, project) in &accounts {
        for _ in 0..2 {
            pushers.push(Pusher(Device::on(server, &http, token, *project)));
            tokens.push(token.clone());
        }
    }
    let open = |token: String| {
        let request = http.get(server.url("/v1/events")).bearer_auth(token);
        async move {
            let r = request.header("accept", "text/event-stream").send().await?;
            let status = r.status();
            ensure!(status.is_success(), "GET /v1/events: {status}");
            Ok(r)
        }
    };
    let streams: Vec<reqwest::Response> = futures::stream::iter(tokens)
        .map(open)
        .buffer_unordered(OPENING_AT_ONCE)
        .try_collect()
        .await?;
    let events = Arc::new(AtomicU64::new(0));
    let mut readers = JoinSet::new();
    for stream in streams {
        readers.spawn(count_events(stream, events.clone()));
    }
    let growth_mb = server.memory()?.rss - before;

    let probe = disk::Probe::start()?;
    let outcome = load::drive(pushers, WARMUP, span, Some(PUSH_EVERY)).await;
    let flushes = probe.finish()?;
    let outcome = outcome?;
    readers.abort_all();
    let pushes = outcome.latencies.len() + WARMUP * users * 2;
    Ok(FleetRun {
        devices: users * 2,
        outcome,
        events: events.load(Ordering::Relaxed),
        pushes,
        growth_mb,
        flushes,
    })
}

/// A backend the load test (and the PostgreSQL ingest run) runs on.
pub enum Backend<'a> {
    /// The embedded default: SQLite and local files.
    Embedded,
    /// A fresh database on the PostgreSQL server of this admin URL, with Redis when given.
    Postgres {
        admin_url: &'a str,
        redis: Option<&'a str>,
    },
}

impl Backend<'_> {
    /// The backend as the report names it, and as file names do.
    pub fn label(&self) -> (&'static str, &'static str) {
        match self {
            Self::Embedded => ("embedded (SQLite)", "embedded"),
            Self::Postgres { redis: None, .. } => ("PostgreSQL", "postgres"),
            Self::Postgres { .. } => ("PostgreSQL + Redis", "postgres-redis"),
        }
    }

    /// Runs `f` against a fresh server of this backend (a database of its own), then stops the
    /// server and drops the database.
    pub async fn with_server<T>(
        &self,
        bin: &Path,
        f: impl AsyncFnOnce(&Server) -> Result<T>,
    ) -> Result<T> {
        let scratch = match self {
            Self::Embedded => None,
            Self::Postgres { admin_url, .. } => Some(Scratch::create(admin_url).await?),
        };
        let env = |_: &str| {
            let mut env = Vec::new();
            if let Some(scratch) = &scratch {
                env.push(("ISKRA_DATABASE_URL", scratch.url.clone()));
            }
            if let Self::Postgres {
                redis: Some(url), ..
            } = self
            {
                env.push(("ISKRA_REDIS_URL", url.to_string()));
            }
            env
        };
        let result = match Server::start_with(bin, env).await {
            Ok(server) => {
                let result = f(&server).await;
                server.stop().await;
                result
            }
            Err(e) => Err(e),
        };
        if let Some(scratch) = scratch {
            scratch.drop().await?;
        }
        result
    }
}

/// The load test: every fleet of [`FLEETS`] on the embedded backend and, with `--postgres`,
/// on PostgreSQL (with `--redis`, fanning out through Redis); rows into `report`, a histogram
/// per run into `--out`.
pub async fn load_test(bin: &Path, args: &Args, report: &mut Report) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut backends = vec![Backend::Embedded];
    if let Some(admin_url) = args.postgres.as_deref() {
        let redis = args.redis.as_deref();
        backends.push(Backend::Postgres { admin_url, redis });
    }
    for backend in &backends {
        let (label, slug) = backend.label();
        for (devices, p99_ms) in FLEETS {
            let span = args.span();
            let fleet = async |server: &Server| run(server, devices, span).await;
            let run = backend.with_server(bin, fleet).await?;
            report.rows.extend(run.rows(label, p99_ms));
            let png = args.out.join(format!("load-{slug}-{devices}.png"));
            run.histogram(label).write_png(&png)?;
            report.notes.push(format!("histogram: {}", png.display()));
        }
    }
    Ok(())
}
