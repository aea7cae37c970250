//! Pipeline throughput: jobs from many enterprise users against a fake fal that completes
//! every job on submit (`Progress::Instant`), each going all the way — submit, fal submit,
//! status poll, result, output downloaded, checked and stored, canvas write, completed. The
//! figure is jobs over the span from the first job's creation to the last one's completion,
//! both as the server recorded them. Workers, poll interval and per-user concurrency are set
//! through the environment as a deployment would, and reported. Afterwards every job must have
//! been charged its estimate, and every user's credits must show nothing held and the balance
//! down by exactly what the jobs were charged.

use super::{Pipeline, User};
use crate::report::{Bound, Report, Row};
use crate::server::{cpu_secs, Server};
use anyhow::{bail, ensure, Context, Result};
use chrono::{DateTime, Utc};
use futures::future::try_join_all;
use iskra_fake_fal::Progress;
use iskra_protocol::{Credits, Generation, GenerationStatus};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::time::sleep;

/// Target: jobs completed per second.
const TARGET_JOBS_S: f64 = 200.0;
/// Pause between checks whether every job has ended.
const CHECK_EVERY: Duration = Duration::from_millis(100);
/// Longest the run may take.
const DEADLINE: Duration = Duration::from_secs(600);
/// Page size of the final listing.
const PAGE: usize = 100;

/// Server settings of the throughput run.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// `ISKRA_GENERATION__WORKERS`.
    pub workers: usize,
    /// `ISKRA_GENERATION__POLL_INTERVAL_MS`.
    pub poll_ms: u64,
    /// `ISKRA_GENERATION__CONCURRENCY__ENTERPRISE`.
    pub concurrency: usize,
}

impl Tuning {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ISKRA_GENERATION__WORKERS", self.workers.to_string()),
            (
                "ISKRA_GENERATION__POLL_INTERVAL_MS",
                self.poll_ms.to_string(),
            ),
            (
                "ISKRA_GENERATION__CONCURRENCY__ENTERPRISE",
                self.concurrency.to_string(),
            ),
        ]
    }
}

/// Submits `n` jobs for `user`, one after the other.
async fn submit_all(user: &User, n: usize) -> Result<()> {
    for i in 0..n {
        user.submit(format!("{} throughput {i}", user.name)).await?;
    }
    Ok(())
}

/// Whether `user` has no job left queued or running.
async fn drained(user: &User) -> Result<bool> {
    for status in [GenerationStatus::Queued, GenerationStatus::Running] {
        if !user.list(Some(status), 1, None).await?.items.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Every job of `user`.
async fn all_jobs(user: &User) -> Result<Vec<Generation>> {
    let (mut jobs, mut cursor) = (Vec::new(), None);
    loop {
        let page = user.list(None, PAGE, cursor.as_deref()).await?;
        jobs.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(jobs),
        }
    }
}

fn time(s: &str) -> Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc))
}

/// Checks that each user's jobs (`jobs[i]` of `users[i]`, all completed) were charged their
/// whole estimate, and that each user's balance went from `before` down by the sum of their
/// charges with nothing left held. Returns the note for the report.
async fn check_charges(
    users: &[User],
    before: &[Credits],
    jobs: &[Vec<Generation>],
) -> Result<String> {
    let after = try_join_all(users.iter().map(User::credits)).await?;
    let (mut total, mut count) = (0, 0);
    for (((user, before), after), jobs) in users.iter().zip(before).zip(&after).zip(jobs) {
        let mut spent = 0;
        for g in jobs {
            let credits = g.credits.as_ref().context("a job without credits")?;
            ensure!(
                credits.estimated > 0 && credits.charged == Some(credits.estimated),
                "job {} was charged {:?} of {}",
                g.id,
                credits.charged,
                credits.estimated
            );
            spent += credits.estimated;
        }
        ensure!(
            after.reserved == 0 && after.available == before.available - spent,
            "{}: {} available and {} reserved after, {} before, {spent} charged",
            user.name,
            after.available,
            after.reserved,
            before.available
        );
        (total, count) = (total + spent, count + jobs.len());
    }
    Ok(format!(
        "generation throughput credits: {count} jobs each charged its estimate ({total} credits \
         in all); every user's balance (GET /v1/credits) down by exactly its charges, nothing held"
    ))
}

/// Measurement 9: jobs/s through the whole pipeline, `jobs` jobs over `users` users.
pub async fn run(
    bin: &Path,
    jobs: usize,
    users: usize,
    tuning: &Tuning,
    report: &mut Report,
) -> Result<()> {
    let label = "generation throughput";
    let env = tuning.env();
    let settings: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let notes = &mut report.notes;
    notes.push(format!("{label} settings: {}", settings.join(" ")));
    let pipeline = Pipeline::start(bin, label, Progress::Instant, false, &env).await?;
    let result = measure(&pipeline, jobs, users, notes).await;
    let fal = &pipeline.fal;
    notes.push(format!(
        "{label} fal requests: {} submits, {} status polls, {} result fetches",
        fal.submits(),
        fal.status_polls(),
        fal.result_fetches()
    ));
    pipeline.stop(notes).await;
    report.rows.extend(result?);
    Ok(())
}

/// CPU time and context switches so far: the server's, and this process's (clients and
/// fake fal), with the time they were read.
struct Usage {
    server_cpu: f64,
    switches: u64,
    own_cpu: f64,
    at: Instant,
}

impl Usage {
    fn now(server: &Server) -> Result<Self> {
        Ok(Self {
            server_cpu: server.cpu_secs()?,
            switches: server.context_switches()?,
            own_cpu: cpu_secs(std::process::id())?,
            at: Instant::now(),
        })
    }

    /// What `jobs` jobs cost since `self`, as a note for the report.
    fn note(&self, server: &Server, jobs: usize) -> Result<String> {
        let end = Self::now(server)?;
        let per_job = |v: f64| v / jobs as f64 * 1e3;
        let wall = end.at.duration_since(self.at).as_secs_f64();
        Ok(format!(
            "generation throughput cost per job: server {:.2} ms CPU and {:.0} context switches; \
             this process (clients, fake fal) {:.2} ms CPU; {:.2} ms wall ({:.2} CPUs busy)",
            per_job(end.server_cpu - self.server_cpu),
            (end.switches - self.switches) as f64 / jobs as f64,
            per_job(end.own_cpu - self.own_cpu),
            per_job(wall),
            (end.server_cpu - self.server_cpu + end.own_cpu - self.own_cpu) / wall,
        ))
    }
}

async fn measure(
    pipeline: &Pipeline,
    jobs: usize,
    n_users: usize,
    notes: &mut Vec<String>,
) -> Result<Vec<Row>> {
    let users = pipeline.users("bench-gen-throughput", n_users).await?;
    let before = try_join_all(users.iter().map(User::credits)).await?;
    let per_user = jobs / n_users;
    let usage = Usage::now(&pipeline.server)?;
    let start = Instant::now();
    try_join_all(users.iter().map(|u| submit_all(u, per_user))).await?;
    let submit_rate = (per_user * n_users) as f64 / start.elapsed().as_secs_f64();

    let mut pending: Vec<&User> = users.iter().collect();
    while !pending.is_empty() {
        ensure!(
            start.elapsed() < DEADLINE,
            "jobs still running after {DEADLINE:?}"
        );
        let done = try_join_all(pending.iter().map(|u| drained(u))).await?;
        let mut done = done.into_iter();
        pending.retain(|_| !done.next().unwrap_or(false));
        sleep(CHECK_EVERY).await;
    }
    notes.push(usage.note(&pipeline.server, per_user * n_users)?);

    let per_user_jobs = try_join_all(users.iter().map(all_jobs)).await?;
    let all = per_user_jobs.concat();
    ensure!(all.len() == per_user * n_users, "{} jobs listed", all.len());
    if let Some(bad) = all.iter().find(|g| g.status != GenerationStatus::Completed) {
        bail!("a job ended {:?}: {:?}", bad.status, bad.error);
    }
    notes.push(check_charges(&users, &before, &per_user_jobs).await?);
    let (mut first, mut last) = (DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC);
    let mut in_pipeline = Vec::with_capacity(all.len());
    for g in &all {
        let created = time(&g.created_at)?;
        let done = time(
            g.completed_at
                .as_deref()
                .context("completed without a time")?,
        )?;
        (first, last) = (first.min(created), last.max(done));
        in_pipeline.push((done - created).num_milliseconds());
    }
    let span = (last - first).num_milliseconds().max(1) as f64 / 1e3;
    in_pipeline.sort_unstable();
    let median = in_pipeline[in_pipeline.len() / 2] as f64;
    let what = format!("{} jobs x {n_users} users, instant fal", all.len());
    Ok(vec![
        Row::new(
            format!("generation throughput, {what}"),
            all.len() as f64 / span,
            "jobs/s",
            Bound::Min(TARGET_JOBS_S),
        ),
        Row::new(
            format!("generation submit rate, {what}"),
            submit_rate,
            "req/s",
            Bound::Info,
        ),
        Row::new(
            format!("generation submit -> completed p50, {what}"),
            median,
            "ms",
            Bound::Info,
        ),
    ])
}
