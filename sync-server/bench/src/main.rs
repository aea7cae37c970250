//! `iskra-bench`: measures the real `iskra-server`, started as a separate process with a fresh
//! data directory (embedded SQLite and file storage), against its performance targets — sync
//! push throughput and latency, upload throughput and memory, open event streams, and the
//! rate limiter's decision cost — and prints a table (optionally JSON) of figure, target and
//! PASS/FAIL. Run it with `scripts/bench.sh`. Client and server share the machine, so the
//! figures are a lower bound on a loaded or small machine; the load average is reported.

mod limiter;
mod report;
mod server;
mod sse;
mod sync;
mod upload;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use serde_json::json;
use server::Server;
use std::path::PathBuf;
use std::time::Duration;
use sync::Span;

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
    /// Seconds each timed sync run lasts.
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// Run this many batches per client instead of `--secs` seconds.
    #[arg(long)]
    batches: Option<u64>,
    /// Uploads in the sequential run, and at once in the concurrent run.
    #[arg(long, default_value_t = 8)]
    uploads: usize,
    /// Event streams held open.
    #[arg(long, default_value_t = 1000)]
    streams: usize,
}

/// The 1-, 5- and 15-minute load averages of the machine.
fn load_average() -> String {
    let raw = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    raw.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Measurements 1–4, against the running server, in an order that keeps the upload peak
/// and the event-stream growth apart from the sync runs.
async fn measure(server: &Server, args: &Args, rows: &mut Vec<report::Row>) -> Result<()> {
    let span = args
        .batches
        .map_or(Span::For(Duration::from_secs(args.secs)), Span::Batches);
    rows.extend(sync::throughput(server, span).await?);
    rows.extend(sync::latency(server, span).await?);
    rows.extend(upload::run(server, args.uploads).await?);
    rows.extend(sse::run(server, args.streams).await?);
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
    let mut rows = limiter::run()?;
    let server = Server::start(&bin).await?;
    let result = measure(&server, &args, &mut rows).await;
    let (log_lines, log) = server.log_tail();
    server.stop().await;

    let load_end = load_average();
    println!("{}", report::table(&rows));
    println!("machine: {cpus} CPU(s); load average {load_start} at start, {load_end} at end");
    if log_lines > 0 {
        println!("server log: {log_lines} line(s) at level warn or above; the last:\n{log}");
    }
    if let Some(path) = &args.json {
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        let meta = json!({"cpus": cpus, "loadAverageStart": load_start,
                          "loadAverageEnd": load_end, "error": error});
        report::write_json(path, &rows, meta).context("writing the JSON report")?;
    }
    result
}
