//! The disk's own flush latency during a run. Every durable commit waits for a flush of the
//! machine's disk (PostgreSQL's WAL flush at each commit, SQLite's at each checkpoint), so a
//! push tail means little without the flushes the disk gave at the same time. A probe thread
//! rewrites one page of a file of its own and `fdatasync`s it at a steady pace while a fleet
//! runs, as a database rewrites its preallocated log; its latencies go beside the push figures.

use anyhow::{anyhow, Context, Result};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Interval between the probe's flushes: light beside a fleet's commits.
const EVERY: Duration = Duration::from_millis(50);
/// What each flush carries: one page, rewritten in place.
const PAGE: [u8; 4096] = [0x5a; 4096];
/// Pages of the probe's file, written and flushed once before the probe starts (so its
/// flushes carry data only, no block allocation), then rewritten in turn.
const PAGES: u64 = 256;

/// A running probe; [`Probe::finish`] stops it and returns what it measured.
pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<Vec<Duration>>>,
}

impl Probe {
    /// Starts flushing a new file in the temporary directory — the file system the servers'
    /// data directories are made in.
    pub fn start() -> Result<Self> {
        let mut file = tempfile::tempfile().context("creating the disk probe's file")?;
        for _ in 0..PAGES {
            file.write_all(&PAGE).context("disk probe: preallocating")?;
        }
        file.sync_all().context("disk probe: preallocating")?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("disk-probe".into())
            .spawn(move || {
                let mut flushes = Vec::new();
                let mut next = Instant::now();
                for page in (0..PAGES).cycle() {
                    let start = Instant::now();
                    file.write_all_at(&PAGE, page * PAGE.len() as u64)
                        .context("disk probe: write")?;
                    file.sync_data().context("disk probe: fdatasync")?;
                    flushes.push(start.elapsed());
                    if stopping.load(Ordering::Relaxed) {
                        break;
                    }
                    next += EVERY;
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
                Ok(flushes)
            })
            .context("starting the disk probe")?;
        Ok(Self { stop, thread })
    }

    /// Stops the probe; the flush latencies it saw, sorted (at least one).
    pub fn finish(self) -> Result<Vec<Duration>> {
        self.stop.store(true, Ordering::Relaxed);
        let mut flushes = self
            .thread
            .join()
            .map_err(|_| anyhow!("the disk probe panicked"))??;
        flushes.sort_unstable();
        Ok(flushes)
    }
}
