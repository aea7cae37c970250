//! `iskra-engine-bench`: the engine's performance targets on a 2,000-element and on a
//! 100,000-element project, measured on this machine and printed as one table per size (name,
//! figure, target, PASS/FAIL), with the load average at start and end.
//!
//! Run in release: `cargo run --release -p iskra-tests --bin iskra-engine-bench` (both sizes)
//! or `… -- --elements 100000` (one). The local figures ([`local`]) time the engine alone in a
//! temp data dir; the wire figures ([`wire`]) run a real server on loopback with devices.

mod local;
mod proc;
mod seed;
mod wire;

use std::process::ExitCode;
use std::time::Duration;

/// A canvas size and the targets that hold at that size.
pub struct Size {
    pub elements: usize,
    /// Edit acknowledged (journal commit), p99 — also while a snapshot runs.
    pub edit_p99: Duration,
    /// Snapshot pass on the snapshot thread, p50.
    pub snapshot_p50: Duration,
    /// Engine start + project open, p50.
    pub open_p50: Duration,
    /// Whether to time an edit from device A to device B through the server (a second device
    /// pulling the whole canvas first).
    pub live: bool,
}

/// Bytes the push of one moved element may take, at every size.
pub const PUSH_BYTES_MAX: usize = 1024;

/// The sizes run by default, smallest first.
pub const SIZES: [Size; 2] = [
    Size {
        elements: 2_000,
        edit_p99: Duration::from_millis(2),
        snapshot_p50: Duration::from_millis(20),
        open_p50: Duration::from_millis(50),
        live: true,
    },
    Size {
        elements: 100_000,
        edit_p99: Duration::from_millis(1),
        snapshot_p50: Duration::from_millis(100),
        open_p50: Duration::from_millis(200),
        live: false,
    },
];

impl Size {
    /// The element count with thousands separators (`100,000`).
    pub fn label(&self) -> String {
        let digits = self.elements.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }
}

/// One line of a result table.
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

fn print(title: &str, rows: &[Row]) {
    let w = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    println!("\n{title}\n");
    println!(
        "| {:<w$} | {:>16} | {:>10} | result |",
        "measure", "figure", "target"
    );
    println!(
        "|{}|{}|{}|--------|",
        "-".repeat(w + 2),
        "-".repeat(18),
        "-".repeat(12)
    );
    for r in rows {
        let result = if r.pass { "PASS" } else { "FAIL" };
        println!(
            "| {:<w$} | {:>16} | {:>10} | {result:<6} |",
            r.name, r.figure, r.target
        );
    }
}

/// The sizes asked for: all by default, or the one named by `--elements N`.
fn sizes() -> anyhow::Result<Vec<&'static Size>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(SIZES.iter().collect()),
        [flag, n] if flag == "--elements" => {
            let n: usize = n.parse()?;
            let size = SIZES.iter().find(|s| s.elements == n);
            let known: Vec<String> = SIZES.iter().map(|s| s.elements.to_string()).collect();
            let size = size.ok_or_else(|| {
                anyhow::anyhow!("no targets for {n} elements; sizes: {}", known.join(", "))
            })?;
            Ok(vec![size])
        }
        _ => anyhow::bail!("usage: iskra-engine-bench [--elements N]"),
    }
}

/// Every row of one size.
fn run(runtime: &tokio::runtime::Runtime, size: &Size) -> anyhow::Result<Vec<Row>> {
    let mut rows = local::run(size)?;
    rows.extend(runtime.block_on(wire::run(size))?);
    Ok(rows)
}

fn main() -> ExitCode {
    let sizes = match sizes() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!("load average at start: {}", proc::load_average());
    let mut all_pass = true;
    for size in sizes {
        let rows = match run(&runtime, size) {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("benchmark of {} elements failed: {e:#}", size.label());
                return ExitCode::FAILURE;
            }
        };
        print(&format!("### {}-element project", size.label()), &rows);
        all_pass &= rows.iter().all(|r| r.pass);
    }
    println!("\nload average at end: {}", proc::load_average());
    println!("peak RSS of the process: {}", proc::mib(proc::peak_rss()));
    if all_pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
