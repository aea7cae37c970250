//! Jobs held queued: [`USERS`] users with one concurrency slot each (the enterprise
//! concurrency set to 1), whose first job fal holds (`Progress::Hold`), so every later job
//! waits `queued` in the durable table — the server retries nothing, its idle workers only
//! look for a free slot. The growth of the server's RSS over the submits is the figure; the
//! CPU the server then spends while idle with the line full is reported for information.

use super::{Pipeline, User};
use crate::report::{Bound, Report, Row};
use anyhow::{ensure, Result};
use futures::future::try_join_all;
use iskra_fake_fal::Progress;
use iskra_protocol::GenerationStatus;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::time::sleep;

/// Users whose jobs wait.
const USERS: usize = 10;
/// Submits in flight per user.
const IN_FLIGHT: usize = 2;
/// Time given to the server to settle before its memory is read.
const SETTLE: Duration = Duration::from_secs(2);
/// How long the idle server's CPU use is watched.
const IDLE_WATCH: Duration = Duration::from_secs(5);
/// How long the held first jobs may take to reach fal.
const HELD_WAIT: Duration = Duration::from_secs(30);
/// Target: growth of the server's RSS with the jobs queued, MB.
const TARGET_GROWTH_MB: f64 = 50.0;

/// Submits `n` jobs for `user`, [`IN_FLIGHT`] at a time, prompts tagged `tag`.
async fn fill(user: &User, tag: &str, n: usize) -> Result<()> {
    let lane = |lane: usize| async move {
        for i in (lane..n).step_by(IN_FLIGHT) {
            user.submit(format!("{} {tag} {i}", user.name)).await?;
        }
        anyhow::Ok(())
    };
    try_join_all((0..IN_FLIGHT).map(lane)).await?;
    Ok(())
}

/// Measurement 7: RSS growth with `n` jobs queued (spread over [`USERS`] users).
pub async fn run(bin: &Path, n: usize, report: &mut Report) -> Result<()> {
    let label = "generation queued";
    let slots = [("ISKRA_GENERATION__CONCURRENCY__ENTERPRISE", "1".to_owned())];
    let pipeline = Pipeline::start(bin, label, Progress::Hold, false, &slots).await?;
    let result = measure(&pipeline, n).await;
    pipeline.stop(&mut report.notes).await;
    report.rows.extend(result?);
    Ok(())
}

async fn measure(pipeline: &Pipeline, n: usize) -> Result<Vec<Row>> {
    let (server, fal) = (&pipeline.server, &pipeline.fal);
    let users = pipeline.users("bench-gen-queued", USERS).await?;
    // The first job of each user takes its slot and stays at fal.
    try_join_all(users.iter().map(|u| fill(u, "held", 1))).await?;
    let held = fal.wait_until(HELD_WAIT, |f| f.submits() == USERS).await;
    ensure!(held, "{} of {USERS} first jobs reached fal", fal.submits());
    sleep(SETTLE).await;
    let before = server.memory()?.rss;

    let start = Instant::now();
    try_join_all(users.iter().map(|u| fill(u, "queued", n / USERS))).await?;
    let submit_rate = n as f64 / start.elapsed().as_secs_f64();
    sleep(SETTLE).await;
    let growth = server.memory()?.rss - before;

    // Nothing more went to fal, and the jobs are waiting.
    ensure!(fal.submits() == USERS, "{} jobs reached fal", fal.submits());
    for user in &users {
        let page = user.list(Some(GenerationStatus::Queued), 1, None).await?;
        ensure!(!page.items.is_empty(), "{} has no queued job", user.name);
    }
    let cpu = server.cpu_secs()?;
    sleep(IDLE_WATCH).await;
    let idle_cpu = (server.cpu_secs()? - cpu) / IDLE_WATCH.as_secs_f64() * 100.0;

    Ok(vec![
        Row::new(
            format!("server RSS growth, {n} generations queued"),
            growth,
            "MB",
            Bound::Max(TARGET_GROWTH_MB),
        ),
        Row::new(
            format!("generation submit rate, {USERS} users x {IN_FLIGHT} in flight"),
            submit_rate,
            "req/s",
            Bound::Info,
        ),
        Row::new(
            format!("server CPU idle with {n} generations queued"),
            idle_cpu,
            "% core",
            Bound::Info,
        ),
    ])
}
