//! Credit ledger throughput: [`USERS`] users at once, each paying for jobs over and over —
//! reserve (a job's hold, the default text-to-image price) → charge (the job completed) —
//! on each backend: a fresh SQLite file (the embedded default) and, with `--postgres`, a
//! fresh PostgreSQL database.
//!
//! Measured in-process against the server's own store (`iskra_server::store::Store`, the code
//! the server runs, opened as the server opens it, its WAL checkpointed every second as the
//! server's maintenance task does), not over HTTP: over HTTP a charge comes only at the end of
//! a whole generation (fal, output storage, canvas), about 200 jobs a second on this machine
//! (the generation throughput figure), which would measure the pipeline rather than the
//! ledger. Each operation is one ledger movement, one transaction (see [`payer`]). Two runs:
//! paced at the target rate (each user one movement every [`PACE`], phases spread) for the
//! latency of a movement at that load, then back to back for the most movements a second.
//! Afterwards the ledger is checked ([`check`]) and reported.

mod check;
mod payer;

use crate::database::Database;
use crate::load::{self, Span};
use crate::report::{Bound, Report, Row};
use crate::server::cpu_secs;
use anyhow::{Context, Result};
use futures::future::try_join_all;
use iskra_protocol::{GenerationKind, Tier};
use iskra_server::config::credits::PriceInput;
use iskra_server::config::CreditSettings;
use iskra_server::credits;
use iskra_server::maintenance;
use iskra_server::store::{Backend, Store};
use payer::Payer;
use std::time::Duration;
use tokio::sync::watch;

/// Users paying at once.
const USERS: usize = 50;
/// Interval between one user's movements in the paced run: 50 users make 2,000 a second.
const PACE: Duration = Duration::from_micros(25_000);
/// Untimed movements per user first (one job: its reserve and its charge).
const WARMUP: usize = 2;
/// Credits granted to each user beside the month's enterprise allocation, so that no run
/// length exhausts them.
const GRANT: i64 = 1_000_000;
/// Target on the embedded default: movements per second, back to back.
const TARGET_MOVEMENTS_S: f64 = 2_000.0;

/// The default price of a text-to-image job (`fal-ai/flux/dev`, `square_hd`, one image).
fn job_price(settings: &CreditSettings) -> i64 {
    settings.pricing.price(PriceInput {
        kind: GenerationKind::TextToImage,
        model: "fal-ai/flux/dev",
        image_size: Some("square_hd"),
        count: 1,
        duration_s: None,
    })
}

/// Measures SQLite, then PostgreSQL on the server of `postgres` (a note says when not given).
pub async fn run(postgres: Option<&str>, span: Span, report: &mut Report) -> Result<()> {
    on(Database::sqlite().await?, span, report).await?;
    match postgres {
        Some(url) => on(Database::postgres(url).await?, span, report).await,
        None => {
            let note = "credits: PostgreSQL not measured (give --postgres URL)";
            report.notes.push(note.into());
            Ok(())
        }
    }
}

/// Measures on `db`, then removes it.
async fn on(db: Database, span: Span, report: &mut Report) -> Result<()> {
    eprintln!("iskra-bench: credits on {}", db.label);
    // SQLite's WAL checkpointed every second off the movements' path, as the server does (a
    // no-op on PostgreSQL).
    let (stop, stopped) = watch::channel(false);
    let checkpoints = tokio::spawn(maintenance::checkpoints(db.store.clone(), stopped));
    let result = measure(&db.store, db.label, span, report).await;
    let _ = stop.send(true);
    let _ = checkpoints.await;
    let closed = db.close().await;
    result?;
    closed
}

/// Creates an enterprise user with the month's allocation (as the first submit of the month
/// gives it) and a grant; returns the available credits.
async fn open_account(store: &Store, settings: &CreditSettings, user: &str) -> Result<i64> {
    store.ensure_user(user, None).await?;
    store.set_tier(user, Tier::Enterprise).await?;
    let row = store.user(user).await?.context("user not created")?;
    credits::refresh_period(store, settings, &row).await?;
    let cause = format!("bench:grant:{user}");
    credits::grant_in(store, user, GRANT, "bench", &cause).await?;
    let acc = store.credit_account(user).await?.context("no account")?;
    Ok(acc.available())
}

async fn measure(store: &Store, label: &str, span: Span, report: &mut Report) -> Result<()> {
    let settings = CreditSettings::default();
    let price = job_price(&settings);
    let payers: Vec<Payer> = (0..USERS)
        .map(|i| Payer::new(store.clone(), format!("bench-credits-{i}"), price))
        .collect();
    let starts = try_join_all(
        payers
            .iter()
            .map(|p| open_account(store, &settings, &p.user)),
    )
    .await?;

    let paced = load::drive(payers.clone(), WARMUP, span, Some(PACE)).await?;
    let cpu = cpu_secs(std::process::id())?;
    let busy = load::drive(payers.clone(), 0, span, None).await?;
    let cpu_us = (cpu_secs(std::process::id())? - cpu) / busy.latencies.len() as f64 * 1e6;
    let whose = if store.backend() == Backend::Sqlite {
        "the store and SQLite"
    } else {
        "the store; the PostgreSQL server's own not counted"
    };
    report.notes.push(format!(
        "credits on {label}: {cpu_us:.0} µs CPU per movement back to back (this process: {whose})"
    ));

    try_join_all(payers.iter().map(Payer::release_open)).await?;
    let expected: Vec<check::Expected> = payers
        .iter()
        .zip(starts)
        .map(|(p, start)| {
            let tally = p.tally.lock().unwrap();
            check::Expected {
                user: p.user.clone(),
                start,
                charged: tally.charged,
                movements: tally.movements,
            }
        })
        .collect();
    let summary = check::ledger(store, &expected).await?;
    report.notes.push(format!(
        "credits on {label}: every ledger sums to its account for {} users; {} reserve/charge/release \
         rows, one per movement made; lowest balance after any row {}, lowest reserved {}; \
         nothing left reserved",
        summary.users, summary.rows, summary.lowest.0, summary.lowest.1
    ));
    let overdraft = check::overdraft(store, price).await?;
    report
        .notes
        .push(format!("credits on {label}: {overdraft}"));

    let target = if store.backend() == Backend::Sqlite {
        Bound::Min(TARGET_MOVEMENTS_S)
    } else {
        Bound::Info
    };
    let name = |what: &str| format!("credit {what}, {USERS} users reserve -> charge, {label}");
    let paced_name = |what: &str| name(&format!("movement {what} paced 40/s each"));
    report.rows.extend([
        Row::new(name("movements back to back"), busy.rate(), "mov/s", target),
        Row::new(
            name("movement p50 back to back"),
            busy.percentile_ms(0.50),
            "ms",
            Bound::Info,
        ),
        Row::new(
            name("movement p99 back to back"),
            busy.percentile_ms(0.99),
            "ms",
            Bound::Info,
        ),
        Row::new(
            paced_name("p50"),
            paced.percentile_ms(0.50),
            "ms",
            Bound::Info,
        ),
        Row::new(
            paced_name("p99"),
            paced.percentile_ms(0.99),
            "ms",
            Bound::Info,
        ),
        Row::new(paced_name("rate"), paced.rate(), "mov/s", Bound::Info),
    ]);
    Ok(())
}
