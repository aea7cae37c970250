//! `iskra-engine-bench`: the engine's performance targets (acceptance 8) on a 2,000-element
//! project, measured on this machine and printed as a table (name, figure, target, PASS/FAIL).
//!
//! Run in release: `cargo run --release -p iskra-tests --bin iskra-engine-bench`. The local
//! figures ([`local`]) time the engine alone in a temp data dir; the wire figures ([`wire`])
//! run a real server on loopback with two devices.

mod local;
mod wire;

use std::process::ExitCode;
use std::time::Duration;

/// Elements on the benchmark canvas.
pub const ELEMENTS: usize = 2_000;

/// One line of the result table.
pub struct Row {
    pub name: String,
    pub figure: String,
    pub target: String,
    pub pass: bool,
}

impl Row {
    /// A row for a duration against an upper bound.
    pub fn time(name: &str, figure: Duration, target: Duration) -> Self {
        Self {
            name: name.into(),
            figure: ms(figure),
            target: format!("≤ {}", ms(target)),
            pass: figure <= target,
        }
    }

    /// A row with no target (context for the rows around it).
    pub fn info(name: &str, figure: String) -> Self {
        Self {
            name: name.into(),
            figure,
            target: "—".into(),
            pass: true,
        }
    }
}

/// A duration in milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// The `p`-th percentile (0–100) of `samples` (sorted here).
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn print(rows: &[Row]) {
    let w = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    println!(
        "| {:<w$} | {:>14} | {:>10} | result |",
        "measure", "figure", "target"
    );
    println!(
        "|{}|{}|{}|--------|",
        "-".repeat(w + 2),
        "-".repeat(16),
        "-".repeat(12)
    );
    for r in rows {
        let result = if r.pass { "PASS" } else { "FAIL" };
        println!(
            "| {:<w$} | {:>14} | {:>10} | {result:<6} |",
            r.name, r.figure, r.target
        );
    }
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let rows = local::run().and_then(|mut rows| {
        rows.extend(runtime.block_on(wire::run())?);
        Ok(rows)
    });
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    print(&rows);
    if rows.iter().all(|r| r.pass) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
