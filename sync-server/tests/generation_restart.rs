//! The real `iskra-server` binary killed with SIGKILL while generations run: after a restart
//! every job completes, none is submitted to fal twice and no output is stored twice. Jobs that
//! were at fal are picked up again by their stored request (their leases expire); jobs that
//! were waiting for a slot start then. And a 1,000-job randomized run through a kill leaves
//! every credit account exactly equal to its ledger.

#[macro_use]
mod common;
#[path = "credits/helpers.rs"]
#[allow(dead_code)]
mod credit_helpers;
mod generation_restart {
    pub mod ledger;
}

use common::binary::{fal_env, BinaryServer};
use common::{Backend, WAIT};
use iskra_fake_fal::{FakeConfig, FakeFal, Progress};
use iskra_protocol::Tier;
use iskra_server::Config;
use serde_json::json;
use std::time::Duration;

/// Jobs at fal when the server is killed (the enterprise tier runs ten at once).
const RUNNING: usize = 10;
/// Jobs waiting in Iskra's line when the server is killed.
const WAITING: usize = 2;

/// The variables of the restart tests: the fake fal, short leases, open enterprise windows.
pub fn restart_env(fal: &FakeFal) -> Vec<(String, String)> {
    let mut vars = fal_env(fal);
    for (k, v) in [
        // A killed worker's claim runs out quickly (docs/api.md: at most 30 s, configurable).
        ("ISKRA_GENERATION__LEASE_SECS", "2"),
        (
            "ISKRA_RATE_LIMITS__GENERATION_ENTERPRISE__STANDARD__MINUTE",
            "-1",
        ),
        (
            "ISKRA_RATE_LIMITS__GENERATION_ENTERPRISE__STANDARD__HOUR",
            "-1",
        ),
    ] {
        vars.push((k.to_owned(), v.to_owned()));
    }
    vars
}

/// A test configuration (data dir in `dir`) and, on the scaled backend, its services.
pub async fn config(b: Backend, dir: &std::path::Path) -> (Config, Option<common::ScaledEnv>) {
    let mut cfg = Config {
        data_dir: dir.join("data"),
        ..Config::default()
    };
    let services = match b {
        Backend::Embedded => None,
        Backend::Scaled => Some(common::scaled_env(&mut cfg).await),
    };
    (cfg, services)
}

async fn killed_while_jobs_run_then_everything_completes_once(b: Backend) {
    let fal = FakeFal::start(FakeConfig::with_progress(Progress::Hold)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (cfg, _services) = config(b, dir.path()).await;
    let mut server = BinaryServer::new(&cfg, dir.path(), restart_env(&fal));
    let alice = server.user("alice", Tier::Enterprise);

    server.start().await;
    let project = alice.new_project().await;
    let mut ids = Vec::new();
    for i in 0..RUNNING + WAITING {
        let body = json!({"kind": "text-to-image", "prompt": format!("survivor {i}"), "projectId": project});
        ids.push(
            alice.post("/v1/generations", &body).await.expect(202)["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert!(
        fal.wait_until(WAIT, |f| f.submits() == RUNNING).await,
        "{RUNNING} jobs reached fal before the kill (got {})",
        fal.submits()
    );
    // Kill only once fal's answers are recorded (`running`): a job killed between fal's answer
    // and that record fails instead of being sent twice (see the worker's notes).
    let count = |status: &'static str| {
        let alice = alice.clone();
        async move {
            let page = alice.get(&format!("/v1/generations?status={status}")).await;
            page.expect(200)["items"].as_array().unwrap().len()
        }
    };
    common::poll_until("the jobs at fal are running", || async {
        count("running").await == RUNNING
    })
    .await;
    assert_eq!(count("queued").await, WAITING, "the rest waited in line");

    server.kill();
    assert_eq!(
        fal.pending_jobs(),
        RUNNING,
        "the jobs were still running at fal when the server died"
    );
    // fal finishes them while the server is down.
    assert_eq!(fal.release_all(), RUNNING);

    server.start().await;
    // The jobs that waited reach fal after the restart; let them finish too.
    assert!(
        fal.wait_until(WAIT * 2, |f| f.submits() == RUNNING + WAITING)
            .await
    );
    fal.set_progress(Progress::Instant);
    fal.release_all();
    for id in &ids {
        let deadline = tokio::time::Instant::now() + WAIT * 2;
        loop {
            let g = alice
                .get(&format!("/v1/generations/{id}"))
                .await
                .expect(200)
                .clone();
            if g["status"] == "completed" {
                assert_eq!(g["outputs"].as_array().unwrap().len(), 1, "{g}");
                break;
            }
            assert!(g["status"] != "failed" && g["status"] != "canceled", "{g}");
            assert!(
                tokio::time::Instant::now() < deadline,
                "job never completed: {g}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(fal.submits(), RUNNING + WAITING, "nothing submitted twice");
    for i in 0..RUNNING + WAITING {
        assert_eq!(fal.submits_for_prompt(&format!("survivor {i}")), 1);
    }
    let assets = alice.list_all("/v1/assets", "").await;
    assert_eq!(assets.len(), RUNNING + WAITING, "each output stored once");
    assert_eq!(alice.storage().await["images"], json!(RUNNING + WAITING));
    let canvas = alice.project(project).await["canvas"]["elements"].clone();
    assert_eq!(
        canvas.as_array().unwrap().len(),
        RUNNING + WAITING,
        "each output placed once"
    );
    credit_helpers::assert_ledger_matches(&alice).await;
}

backend_tests!(killed_while_jobs_run_then_everything_completes_once);
