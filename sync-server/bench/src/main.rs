//! `iskra-bench`: measures the real `iskra-server`, started as a separate process with a fresh
//! data directory (embedded SQLite and file storage), against its performance targets — sync
//! push throughput and latency, upload throughput and memory, open event streams, the share
//! page as link-preview crawlers read it, the rate limiter's decision cost, the credit ledger
//! (in-process, on SQLite and PostgreSQL), and the generation pipeline against a fake fal — and
//! prints a table (optionally JSON) of figure, target and PASS/FAIL. Run it with
//! `scripts/bench.sh`.
//! Client and server share the machine, so the figures are a lower bound on a loaded or small
//! machine; the load average is reported.

mod api_keys;
mod credits;
mod database;
mod disk;
mod fleet;
mod generation;
mod histogram;
mod limiter;
mod load;
mod report;
mod server;
mod share;
mod sse;
mod sync;
mod upload;

use anyhow::{ensure, Context, Result};
use clap::{Parser, ValueEnum};
use load::Span;
use report::Report;
use serde_json::json;
use server::Server;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A group of measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// The rate limiter's decision cost (in-process).
    Limiter,
    /// Sync push throughput and latency.
    Sync,
    /// Upload throughput and memory.
    Upload,
    /// Open event streams.
    Sse,
    /// `/t/{id}` share page throughput as link-preview crawlers read it.
    Share,
    /// Credit ledger movements, reserve then charge, 50 users (in-process store).
    Credits,
    /// API-key authentication and rate-limit decision, 50 keys at once (in-process).
    ApiKeys,
    /// The load test: fleets of devices with open event streams, each backend, histograms
    /// (only when asked for: `--load` or `--only load`).
    Load,
    /// The generation pipeline (its own servers and a fake fal): the four below.
    Generation,
    /// Generation submit latency.
    GenSubmit,
    /// Memory with generations held queued.
    GenQueued,
    /// fal completion to the device's event (webhook mode).
    GenWebhook,
    /// Generation pipeline throughput.
    GenThroughput,
}

/// The generation parts and their figures.
const GENERATION: [(Part, generation::Figure); 4] = [
    (Part::GenSubmit, generation::Figure::Submit),
    (Part::GenQueued, generation::Figure::Queued),
    (Part::GenWebhook, generation::Figure::Webhook),
    (Part::GenThroughput, generation::Figure::Throughput),
];

/// Command line of `iskra-bench`.
#[derive(Parser)]
#[command(
    name = "iskra-bench",
    about = "Benchmarks iskra-server against its performance targets"
)]
struct Args {
    /// The `iskra-server` binary (default: beside this program).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Seconds each timed sync run (and each credits run) lasts.
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// Run this many batches per client instead of `--secs` seconds.
    #[arg(long)]
    batches: Option<u64>,
    /// Uploads in the sequential run, and at once in the concurrent run.
    #[arg(long, default_value_t = 8)]
    uploads: usize,
    /// Event streams held open.
    #[arg(long, default_value_t = 10_000)]
    streams: usize,
    /// Run the load test alone (same as `--only load`).
    #[arg(long)]
    load: bool,
    /// Where the load test writes its table (`load.txt`) and histograms (`*.png`).
    #[arg(long, default_value = "bench-load")]
    out: PathBuf,
    /// Redis for the PostgreSQL backend's servers (load test, sync ingest: event fan-out
    /// through Redis, as replicas run), e.g. redis://127.0.0.1:6379. Without it those servers
    /// fan out in-process.
    #[arg(long, env = "ISKRA_BENCH_REDIS_URL")]
    redis: Option<String>,
    /// Run only these parts (repeatable; all by default).
    #[arg(long, value_enum)]
    only: Vec<Part>,
    /// A PostgreSQL server for the second backend of the credits part, the sync ingest and the
    /// load test, as the URL of a database there (e.g. postgres://postgres@127.0.0.1:5432/postgres):
    /// a fresh database is created beside it for each run and dropped afterwards. Without it
    /// only SQLite is measured.
    #[arg(long, env = "ISKRA_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Decisions per key of the API-key run.
    #[arg(long, default_value_t = 2_000)]
    api_key_decisions: usize,
    /// Generations submitted and held queued (memory figure).
    #[arg(long, default_value_t = 10_000)]
    gen_queued: usize,
    /// Generations completed by webhook (delivery latency figure).
    #[arg(long, default_value_t = 200)]
    gen_webhooks: usize,
    /// Generations of the throughput run.
    #[arg(long, default_value_t = 2_000)]
    gen_jobs: usize,
    /// Users of the throughput run (the jobs are spread evenly).
    #[arg(long, default_value_t = 20)]
    gen_users: usize,
    /// Throughput run: `ISKRA_GENERATION__WORKERS` of the server.
    #[arg(long, default_value_t = 8)]
    gen_workers: usize,
    /// Throughput run: `ISKRA_GENERATION__POLL_INTERVAL_MS` of the server.
    #[arg(long, default_value_t = 100)]
    gen_poll_ms: u64,
    /// Throughput run: `ISKRA_GENERATION__CONCURRENCY__ENTERPRISE` of the server.
    #[arg(long, default_value_t = 50)]
    gen_concurrency: usize,
}

impl Args {
    /// Whether `part` is to be measured.
    fn runs(&self, part: Part) -> bool {
        if part == Part::Load || self.load {
            return part == Part::Load && (self.load || self.only.contains(&Part::Load));
        }
        let of_generation = GENERATION.iter().any(|(p, _)| *p == part);
        self.only.is_empty()
            || self.only.contains(&part)
            || (of_generation && self.only.contains(&Part::Generation))
    }

    /// The span of timed paced runs.
    fn span(&self) -> Span {
        self.batches
            .map_or(Span::For(Duration::from_secs(self.secs)), Span::Batches)
    }
}

/// The 1-, 5- and 15-minute load averages of the machine.
fn load_average() -> String {
    let raw = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    raw.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Every selected measurement: 1–4 against one running server, in an order that keeps the
/// upload peak and the event-stream growth apart from the sync runs; the credit ledger on
/// stores of its own; then the generation pipeline on servers of its own.
async fn measure(bin: &Path, args: &Args, report: &mut Report) -> Result<()> {
    if [Part::Sync, Part::Upload, Part::Sse, Part::Share]
        .iter()
        .any(|p| args.runs(*p))
    {
        let server = Server::start(bin).await?;
        let result = measure_server(&server, bin, args, &mut report.rows).await;
        let (log_lines, log) = server.log_tail();
        server.stop().await;
        if log_lines > 0 {
            report.notes.push(format!(
                "server log: {log_lines} line(s) at level warn or above; the last:\n{log}"
            ));
        }
        result?;
    }
    if args.runs(Part::Load) {
        fleet::load_test(bin, args, report).await?;
    }
    if args.runs(Part::Credits) {
        credits::run(args.postgres.as_deref(), args.span(), report).await?;
    }
    if args.runs(Part::ApiKeys) {
        report
            .rows
            .extend(api_keys::run(args.api_key_decisions).await?);
    }
    let figures: Vec<_> = GENERATION
        .iter()
        .filter(|(part, _)| args.runs(*part))
        .map(|(_, figure)| *figure)
        .collect();
    if !figures.is_empty() {
        let opts = generation::Options {
            figures,
            span: args.span(),
            queued: args.gen_queued,
            webhooks: args.gen_webhooks,
            jobs: args.gen_jobs,
            users: args.gen_users,
            tuning: generation::Tuning {
                workers: args.gen_workers,
                poll_ms: args.gen_poll_ms,
                concurrency: args.gen_concurrency,
            },
        };
        generation::run(bin, &opts, report).await?;
    }
    Ok(())
}

async fn measure_server(
    server: &Server,
    bin: &Path,
    args: &Args,
    rows: &mut Vec<report::Row>,
) -> Result<()> {
    let span = args.span();
    if args.runs(Part::Sync) {
        rows.extend(sync::throughput(server, span).await?);
        rows.extend(sync::latency(server, span).await?);
        if let Some(admin_url) = args.postgres.as_deref() {
            // Ingest on PostgreSQL (+ Redis when given): a server of its own, fresh database.
            let backend = fleet::Backend::Postgres {
                admin_url,
                redis: args.redis.as_deref(),
            };
            let on = backend.label().0;
            let ingest = async |s: &Server| sync::throughput_on(s, span, on).await;
            rows.extend(backend.with_server(bin, ingest).await?);
        }
    }
    if args.runs(Part::Upload) {
        rows.extend(upload::run(server, args.uploads).await?);
    }
    if args.runs(Part::Sse) {
        rows.extend(sse::run(server, bin, args.streams).await?);
    }
    if args.runs(Part::Share) {
        rows.extend(share::run(server, span).await?);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let bin = match &args.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("iskra-server"),
    };
    ensure!(
        bin.is_file(),
        "no server at {bin:?}; build iskra-server first"
    );
    // Client and server both hold one descriptor per event stream; the server inherits this.
    let fds = rlimit::increase_nofile_limit(u64::MAX).context("raising the open-file limit")?;
    ensure!(
        fds > args.streams as u64 + 256,
        "open-file limit {fds} is too low"
    );

    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load_start = load_average();
    eprintln!("iskra-bench: {cpus} CPU(s), load average {load_start}, running…");
    let mut report = Report::default();
    if args.runs(Part::Limiter) {
        report.rows.extend(limiter::run()?);
    }
    let result = measure(&bin, &args, &mut report).await;

    let load_end = load_average();
    let mut text = report::table(&report.rows);
    text +=
        &format!("machine: {cpus} CPU(s); load average {load_start} at start, {load_end} at end\n");
    for note in &report.notes {
        text += &format!("{note}\n");
    }
    print!("{text}");
    if args.runs(Part::Load) {
        let path = args.out.join("load.txt");
        std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        let meta = json!({"cpus": cpus, "loadAverageStart": load_start,
                          "loadAverageEnd": load_end, "notes": report.notes, "error": error});
        report::write_json(path, &report.rows, meta).context("writing the JSON report")?;
    }
    result
}
