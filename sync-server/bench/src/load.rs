//! Driving concurrent simulated clients: each repeats one operation (a push, a submit) some
//! untimed times, then, all starting together, for a span — back to back or paced at evenly
//! spread phases — while the latency of every timed operation is recorded.

use anyhow::Result;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;
use tokio::time::{interval_at, Interval, MissedTickBehavior};

/// How long a timed run lasts.
#[derive(Debug, Clone, Copy)]
pub enum Span {
    /// This long.
    For(Duration),
    /// This many operations per client.
    Batches(u64),
}

/// A simulated client that repeats one operation.
pub trait Client: Send + 'static {
    /// Runs the operation once; returns the units of work it did (properties set, jobs).
    fn once(&mut self) -> impl Future<Output = Result<u64>> + Send;
}

/// What the clients of one run did together.
pub struct Outcome {
    /// Units of work done in the timed part.
    pub units: u64,
    /// Wall time of the longest client's timed part.
    pub elapsed: Duration,
    /// Latency of every timed operation, sorted.
    pub latencies: Vec<Duration>,
}

impl Outcome {
    /// The `p` quantile (0–1) of the latencies, ms.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        percentile_ms(&self.latencies, p)
    }

    /// Timed operations per second.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// The `p` quantile (0–1) of `sorted` latencies (nearest rank), ms.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
}

/// Ticks every `pace`, starting at phase `i / n` of it: client `i` of `n` independent people
/// (ticking in lockstep would measure a burst of `n` simultaneous operations instead).
pub fn ticker(pace: Duration, i: usize, n: usize) -> Interval {
    let phase = pace * i as u32 / n.max(1) as u32;
    let mut ticks = interval_at(tokio::time::Instant::now() + phase, pace);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks
}

/// Runs every client concurrently: `warmup` untimed operations each, then (all starting
/// together) operations for `span`, at most one per `pace` when paced.
pub async fn drive<C: Client>(
    clients: Vec<C>,
    warmup: usize,
    span: Span,
    pace: Option<Duration>,
) -> Result<Outcome> {
    let n = clients.len();
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::with_capacity(n);
    for (i, mut client) in clients.into_iter().enumerate() {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..warmup {
                client.once().await?;
            }
            barrier.wait().await;
            let (start, mut units, mut latencies) = (Instant::now(), 0, Vec::new());
            let mut ticks = pace.map(|p| ticker(p, i, n));
            while match span {
                Span::For(d) => start.elapsed() < d,
                Span::Batches(n) => (latencies.len() as u64) < n,
            } {
                if let Some(ticks) = ticks.as_mut() {
                    ticks.tick().await;
                }
                let t = Instant::now();
                units += client.once().await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(Outcome {
                units,
                elapsed: start.elapsed(),
                latencies,
            })
        }));
    }
    let mut all = Outcome {
        units: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for task in tasks {
        let one = task.await??;
        all.units += one.units;
        all.elapsed = all.elapsed.max(one.elapsed);
        all.latencies.extend(one.latencies);
    }
    all.latencies.sort_unstable();
    Ok(all)
}
