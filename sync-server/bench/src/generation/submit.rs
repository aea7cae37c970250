//! Submit latency: [`USERS`] distinct users, each submitting a job every [`PACE`] at evenly
//! spread phases, while the pipeline works behind them: the fake fal completes every job on
//! submit and the workers poll, fetch, store and place it, so jobs complete as fast as they
//! arrive — the steady state of a busy server (fal's real run time only delays completions,
//! it does not change their rate). Default pipeline settings.

use super::{Pipeline, User};
use crate::load::{self, Client, Span};
use crate::report::{Bound, Report, Row};
use anyhow::Result;
use iskra_fake_fal::Progress;
use std::path::Path;
use std::time::Duration;

/// Concurrent users.
const USERS: usize = 50;
/// Interval between one user's submits: 50 users submit 50 jobs a second together, far
/// beyond what people do (the default enterprise window is 5 a minute).
const PACE: Duration = Duration::from_secs(1);
/// Untimed submits per user first.
const WARMUP: usize = 2;
/// Target: 99th percentile of a submit, ms.
const TARGET_P99_MS: f64 = 10.0;

/// A user submitting one job per operation, each with its own prompt.
struct Submitter(User, u64);

impl Client for Submitter {
    async fn once(&mut self) -> Result<u64> {
        self.1 += 1;
        let prompt = format!("{} submit {}", self.0.name, self.1);
        self.0.submit(prompt).await?;
        Ok(1)
    }
}

/// Measurement 6: p50/p99 of `POST /v1/generations`, [`USERS`] users paced.
pub async fn run(bin: &Path, span: Span, report: &mut Report) -> Result<()> {
    let label = "generation submit";
    let pipeline = Pipeline::start(bin, label, Progress::Instant, false, &[]).await?;
    let out = async {
        let users = pipeline.users("bench-gen-submit", USERS).await?;
        let clients = users.into_iter().map(|u| Submitter(u, 0)).collect();
        load::drive(clients, WARMUP, span, Some(PACE)).await
    }
    .await;
    pipeline.stop(&mut report.notes).await;
    let out = out?;
    let name = |what: &str| format!("generation submit {what}, {USERS} users paced 1/s each");
    report.rows.extend([
        Row::new(name("p50"), out.percentile_ms(0.50), "ms", Bound::Info),
        Row::new(
            name("p99"),
            out.percentile_ms(0.99),
            "ms",
            Bound::Max(TARGET_P99_MS),
        ),
        Row::new(name("rate"), out.rate(), "req/s", Bound::Info),
    ]);
    Ok(())
}
