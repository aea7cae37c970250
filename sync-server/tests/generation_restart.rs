//! The real `iskra-server` binary killed with SIGKILL while generations run: after a restart
//! every job completes, none is submitted to fal twice and no output is stored twice. Jobs that
//! were at fal are picked up again by their stored request (their leases expire); jobs that
//! were waiting for a slot start then.

#[macro_use]
mod common;

use common::{Backend, User, WAIT};
use iskra_fake_fal::{FakeConfig, FakeFal, Progress};
use iskra_server::Config;
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Jobs at fal when the server is killed (the enterprise tier runs ten at once).
const RUNNING: usize = 10;
/// Jobs waiting in Iskra's line when the server is killed.
const WAITING: usize = 2;

/// The server's environment for `cfg` (what the test varies) and the fake fal.
fn env(cfg: &Config, fal: &FakeFal, port: u16) -> Vec<(String, String)> {
    let mut vars = vec![
        ("ISKRA_LISTEN", format!("127.0.0.1:{port}")),
        ("ISKRA_DATA_DIR", cfg.data_dir.display().to_string()),
        ("ISKRA_LOG_FORMAT", "pretty".into()),
        ("ISKRA_FAL_KEY", fal.key()),
        ("ISKRA_FAL_QUEUE_URL", fal.queue_url()),
        ("ISKRA_FAL_REST_URL", fal.rest_url()),
        ("ISKRA_FAL_JWKS_URL", fal.jwks_url()),
        ("ISKRA_GENERATION__POLL_INTERVAL_MS", "20".into()),
        // A killed worker's claim runs out quickly (docs/api.md: at most 30 s, configurable).
        ("ISKRA_GENERATION__LEASE_SECS", "2".into()),
        (
            "ISKRA_RATE_LIMITS__GENERATION_ENTERPRISE__STANDARD__MINUTE",
            "-1".into(),
        ),
        (
            "ISKRA_RATE_LIMITS__GENERATION_ENTERPRISE__STANDARD__HOUR",
            "-1".into(),
        ),
    ];
    let optional = [
        ("ISKRA_DATABASE_URL", &cfg.database_url),
        ("ISKRA_STORAGE_URL", &cfg.storage_url),
        ("ISKRA_REDIS_URL", &cfg.redis_url),
        ("ISKRA_SIGNING_SECRET", &cfg.signing_secret),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            vars.push((name, v.clone()));
        }
    }
    vars.push(("ISKRA_REDIS_PREFIX", cfg.redis_prefix.clone()));
    vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn server(args: &[&str], vars: &[(String, String)], log: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iskra-server"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"));
    for aws in [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ] {
        if let Ok(v) = std::env::var(aws) {
            cmd.env(aws, v);
        }
    }
    cmd
}

/// A server process, killed (SIGKILL) and reaped when dropped, also when a test fails.
struct Proc(Child);

impl Proc {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `iskra-server serve` and waits until `/health` answers.
async fn start(vars: &[(String, String)], dir: &Path, base: &str) -> Proc {
    let child = Proc(
        server(&["serve"], vars, &dir.join("server.log"))
            .spawn()
            .expect("spawn iskra-server"),
    );
    let http = reqwest::Client::new();
    common::poll_until("the server answers /health", || async {
        http.get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    child
}

async fn killed_while_jobs_run_then_everything_completes_once(b: Backend) {
    let fal = FakeFal::start(FakeConfig::with_progress(Progress::Hold)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let _services = match b {
        Backend::Embedded => None,
        Backend::Scaled => Some(common::scaled_env(&mut cfg).await),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let vars = env(&cfg, &fal, port);
    let token = server(
        &["token", "--user", "alice", "--tier", "enterprise"],
        &vars,
        &dir.path().join("token.log"),
    )
    .output()
    .expect("iskra-server token");
    assert!(token.status.success(), "token: {:?}", token);
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let alice = User::new(reqwest::Client::new(), &base, "alice", Some(token));

    let mut child = start(&vars, dir.path(), &base).await;
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

    child.kill();
    assert_eq!(
        fal.pending_jobs(),
        RUNNING,
        "the jobs were still running at fal when the server died"
    );
    // fal finishes them while the server is down.
    assert_eq!(fal.release_all(), RUNNING);

    let mut child = start(&vars, dir.path(), &base).await;
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
    child.kill();
}

backend_tests!(killed_while_jobs_run_then_everything_completes_once);
