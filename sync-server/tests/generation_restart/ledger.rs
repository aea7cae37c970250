//! 1,000 generations (300 on PostgreSQL + S3) of random sizes across five users, with fal
//! repeating every webhook, bursts of failing results and bad outputs, 10% canceled, and the
//! server SIGKILLed halfway while jobs hold credits. Clients retry unanswered submits with their `Idempotency-Key`.
//! Afterwards every job exists once, is charged exactly what it produced (failed and canceled
//! ones nothing), and every account equals the sum of its ledger.

use crate::common::binary::BinaryServer;
use crate::common::{Backend, User, WAIT};
use crate::credit_helpers::{assert_ledger_matches, history};
use futures::stream::{self, StreamExt};
use iskra_fake_fal::{FakeConfig, FakeFal, OutputMode, Progress, ResultFailure};
use iskra_protocol::Tier;
use iskra_server::store::Store;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Jobs of the run on the embedded default; the scaled run (PostgreSQL + S3 + Redis, where
/// every output also goes through the S3 stand-in) makes 300 of the same kinds.
const JOBS: usize = 1_000;
const SCALED_JOBS: usize = 300;
const USERS: usize = 5;
/// Submits in flight at once.
const PARALLEL: usize = 16;

/// One planned job.
#[derive(Clone)]
struct Plan {
    user: usize,
    prompt: String,
    images: u32,
    cancel: bool,
    key: Uuid,
}

/// Submits (and maybe cancels) one job, retrying with the same key while the server is down.
async fn run_job(http: &reqwest::Client, base: &str, tokens: &[String], p: &Plan) -> String {
    let body =
        json!({"kind": "text-to-image", "prompt": p.prompt, "params": {"numImages": p.images}});
    let deadline = tokio::time::Instant::now() + WAIT * 9;
    let id = loop {
        let res = http
            .post(format!("{base}/v1/generations"))
            .bearer_auth(&tokens[p.user])
            .header("idempotency-key", p.key.to_string())
            .json(&body)
            .send()
            .await;
        match res {
            Ok(r) if r.status().as_u16() == 202 => {
                let g: Value = r.json().await.expect("generation");
                break g["id"].as_str().unwrap().to_owned();
            }
            Ok(r) if r.status().is_server_error() => {}
            Ok(r) => panic!("submit answered {}: {:?}", r.status(), r.text().await),
            Err(_) => {} // the server is down: try again with the same key
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "submit never answered"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    if p.cancel {
        loop {
            let res = http
                .delete(format!("{base}/v1/generations/{id}"))
                .bearer_auth(&tokens[p.user])
                .send()
                .await;
            match res.map(|r| r.status().as_u16()) {
                Ok(200 | 409) => break,
                Ok(s) if s < 500 => panic!("cancel answered {s}"),
                _ => {}
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "cancel never answered"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    id
}

/// What the prompt of a job that fal fails whenever it completes ends with.
const FAILS: &str = " (fails at fal)";

/// Switches fal's faults on and off as the run goes (by the share of acknowledged submits,
/// in thousandths of `total`).
fn fault_at(fal: &FakeFal, acknowledged: usize, total: usize) {
    if total == 0 || !(acknowledged * 1_000).is_multiple_of(total) {
        return;
    }
    match acknowledged * 1_000 / total {
        100 | 700 => fal.fail_results(ResultFailure::ErrorBody { status: 200 }),
        150 | 750 => fal.fail_results(ResultFailure::None),
        300 => fal.set_output_mode(OutputMode::Html),
        350 => fal.set_output_mode(OutputMode::Normal),
        _ => {}
    }
}

/// Jobs not in a final phase, and credits held, read from the database itself.
async fn in_flight(store: &Store) -> (i64, i64) {
    let (open,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM generations WHERE phase NOT IN ('completed', 'failed', 'canceled')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    let (held,): (Option<i64>,) =
        sqlx::query_as("SELECT CAST(SUM(reserved) AS BIGINT) FROM credit_accounts")
            .fetch_one(store.pool())
            .await
            .unwrap();
    (open, held.unwrap_or(0))
}

async fn a_thousand_random_jobs_through_a_kill_balance_to_the_credit(b: Backend) {
    let total = match b {
        Backend::Embedded => JOBS,
        Backend::Scaled => SCALED_JOBS,
    };
    // Killed once 45% of the submits were answered.
    let kill_after = total * 45 / 100;
    let fal = FakeFal::start(FakeConfig::with_progress(Progress::Delay(
        Duration::from_millis(150),
    )))
    .await;
    fal.duplicate_webhooks(3);
    let dir = tempfile::tempdir().expect("temp dir");
    let (cfg, _services) = crate::config(b, dir.path()).await;
    let mut server = BinaryServer::new(&cfg, dir.path(), crate::restart_env(&fal));
    for (k, v) in [
        ("ISKRA_RATE_LIMITS__USER__MINUTE", "-1"),
        ("ISKRA_RATE_LIMITS__IP__MINUTE", "-1"),
        ("ISKRA_GENERATION__WEBHOOK_POLL_SECS", "2"),
        // Claims of submits cut off by the kill are taken over after twice this.
        ("ISKRA_REQUEST_TIMEOUT_SECS", "3"),
        // Leases long enough that a loaded machine's late renewals do not hand jobs around.
        ("ISKRA_GENERATION__LEASE_SECS", "5"),
    ] {
        server.set(k, v);
    }
    // Webhooks come back to the server itself.
    let base = server.base.clone();
    server.set("ISKRA_PUBLIC_URL", &base);
    let users: Vec<User> = (0..USERS)
        .map(|i| server.user(&format!("ledger-{i}"), Tier::Enterprise))
        .collect();
    let tokens: Vec<String> = users.iter().map(|u| u.token.clone().unwrap()).collect();
    server.start().await;
    let store = Store::connect(&iskra_server::state::database_url(&cfg))
        .await
        .expect("the server's database");

    let mut rng = rand::rngs::StdRng::seed_from_u64(1_000);
    // Besides the bursts of failing results (timed by the run, see `fault_at`), one job in
    // twenty that is not canceled fails at fal whenever it completes: the run always has
    // failed jobs, however its timing falls.
    fal.fail_results_for_prompts_containing(FAILS, ResultFailure::ErrorBody { status: 200 });
    let plans: Vec<Plan> = (0..total)
        .map(|i| {
            let images = rng.gen_range(1..=4);
            let cancel = rng.gen_bool(0.1);
            let fails = if !cancel && i % 20 == 13 { FAILS } else { "" };
            Plan {
                user: i % USERS,
                prompt: format!("ledger job {i}{fails}"),
                images,
                cancel,
                key: Uuid::new_v4(),
            }
        })
        .collect();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let base = server.base.clone();
    let runs = {
        let (acknowledged, fal, tokens) = (acknowledged.clone(), fal.clone(), tokens.clone());
        tokio::spawn(async move {
            stream::iter(plans.clone())
                .map(|p| {
                    let (http, base, tokens, acknowledged, fal) = (
                        http.clone(),
                        base.clone(),
                        tokens.clone(),
                        acknowledged.clone(),
                        fal.clone(),
                    );
                    async move {
                        let id = run_job(&http, &base, &tokens, &p).await;
                        fault_at(&fal, acknowledged.fetch_add(1, Ordering::SeqCst) + 1, total);
                        (p, id)
                    }
                })
                .buffer_unordered(PARALLEL)
                .collect::<Vec<_>>()
                .await
        })
    };
    // Bounds of a whole run on a loaded machine, not expectations of speed.
    let deadline = tokio::time::Instant::now() + WAIT * 9;
    while acknowledged.load(Ordering::SeqCst) < kill_after {
        assert!(
            tokio::time::Instant::now() < deadline,
            "submits stalled at {}",
            acknowledged.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();
    let (open, held) = in_flight(&store).await;
    assert!(
        open > 0 && held > 0,
        "jobs were in flight and holding credits when the server died ({open} open, {held} held)"
    );
    assert!(
        acknowledged.load(Ordering::SeqCst) < total,
        "the kill came mid-run"
    );
    server.start().await;
    let done = runs.await.expect("the submitting task");
    assert_eq!(done.len(), total);

    let deadline = tokio::time::Instant::now() + WAIT * 12;
    loop {
        let (open, held) = in_flight(&store).await;
        if open == 0 && held == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{open} jobs never ended ({held} credits still held)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Every job exists once, was sent to fal at most once, and is charged what it produced.
    let mut by_id: HashMap<String, Plan> = HashMap::new();
    for (p, id) in done {
        assert!(by_id.insert(id, p).is_none(), "one job per Idempotency-Key");
    }
    let mut outcomes: HashMap<&str, usize> = HashMap::new();
    for (i, user) in users.iter().enumerate() {
        let jobs = user.list_all("/v1/generations", "limit=100").await;
        assert_eq!(jobs.len(), total / USERS, "no job twice for {}", user.id);
        let rows = history(user).await;
        let mut per_cause: HashMap<&str, Vec<&str>> = HashMap::new();
        for r in &rows {
            per_cause
                .entry(r["cause"].as_str().unwrap())
                .or_default()
                .push(r["kind"].as_str().unwrap());
        }
        for g in &jobs {
            let id = g["id"].as_str().unwrap();
            let plan = &by_id[id];
            assert_eq!(plan.user, i);
            assert!(fal.submits_for_prompt(&plan.prompt) <= 1, "{}", plan.prompt);
            let status = g["status"].as_str().unwrap();
            if plan.prompt.ends_with(FAILS) {
                assert_eq!(status, "failed", "a job fal fails ends failed: {g}");
            }
            *outcomes
                .entry(match status {
                    "completed" => "completed",
                    "failed" => "failed",
                    _ => "canceled",
                })
                .or_default() += 1;
            let produced = g["outputs"].as_array().unwrap().len() as i64;
            let estimated = 3 * i64::from(plan.images);
            let charged = if status == "completed" {
                assert_eq!(produced, i64::from(plan.images), "{g}");
                3 * produced
            } else {
                assert!(status == "failed" || status == "canceled", "{g}");
                0
            };
            assert_eq!(
                g["credits"],
                json!({"estimated": estimated, "charged": charged}),
                "{g}"
            );
            let mut kinds = per_cause[format!("generation:{id}").as_str()].clone();
            kinds.sort_unstable();
            let expected: &[&str] = match charged {
                0 => &["release", "reserve"],
                c if c == estimated => &["charge", "reserve"],
                _ => &["charge", "release", "reserve"],
            };
            assert_eq!(kinds, expected, "{g}");
        }
        let c = assert_ledger_matches(user).await;
        assert_eq!(c["reserved"], 0);
    }
    // The run went through every kind of ending.
    for kind in ["completed", "failed", "canceled"] {
        assert!(outcomes.get(kind).copied().unwrap_or(0) > 0, "{outcomes:?}");
    }
    server.kill();
}

backend_tests!(a_thousand_random_jobs_through_a_kill_balance_to_the_credit);
