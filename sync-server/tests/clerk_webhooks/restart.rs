//! The real `iskra-server` binary killed with SIGKILL halfway through a deletion (some of the
//! user's blobs deleted, others not; a step delay makes that moment last), then started again:
//! the deletion finishes by itself, and the other user — who has a copy of the same bytes —
//! keeps everything.

use super::support::{assert_empty, Inspect};
use crate::common::media::{png, sha256_hex};
use crate::common::svix::{new_secret, user_deleted, ClerkSender};
use crate::common::{poll_until, Backend, User};
use iskra_server::Config;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Alice's uploads (the first one Bob has too).
const ASSETS: u32 = 8;

/// A server process, killed (SIGKILL) and reaped when dropped, also when the test fails.
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

fn server(args: &[&str], vars: &[(String, String)], log: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iskra-server"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .expect("log file"),
        );
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

/// The server's environment: `cfg`'s storage, the Clerk secret, quick resumption.
fn env(cfg: &Config, port: u16, secret: &str, step_delay_ms: u64) -> Vec<(String, String)> {
    let mut vars = vec![
        ("ISKRA_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
        ("ISKRA_DATA_DIR".into(), cfg.data_dir.display().to_string()),
        ("ISKRA_LOG_FORMAT".into(), "pretty".into()),
        ("ISKRA_CLERK_WEBHOOK_SECRET".into(), secret.to_owned()),
        ("ISKRA_ACCOUNTS__DELETION_LEASE_SECS".into(), "2".into()),
        ("ISKRA_ACCOUNTS__DELETION_RESUME_SECS".into(), "1".into()),
        ("ISKRA_ACCOUNTS__DELETION_SETTLE_SECS".into(), "0".into()),
        (
            "ISKRA_ACCOUNTS__DELETION_STEP_DELAY_MS".into(),
            step_delay_ms.to_string(),
        ),
        ("ISKRA_REDIS_PREFIX".into(), cfg.redis_prefix.clone()),
    ];
    for (name, value) in [
        ("ISKRA_DATABASE_URL", &cfg.database_url),
        ("ISKRA_STORAGE_URL", &cfg.storage_url),
        ("ISKRA_REDIS_URL", &cfg.redis_url),
        ("ISKRA_SIGNING_SECRET", &cfg.signing_secret),
    ] {
        if let Some(v) = value {
            vars.push((name.to_owned(), v.clone()));
        }
    }
    vars
}

/// Starts `iskra-server serve` and waits until `/health` answers.
async fn start(vars: &[(String, String)], dir: &Path, base: &str) -> Proc {
    let child = Proc(
        server(&["serve"], vars, &dir.join("server.log"))
            .spawn()
            .expect("spawn iskra-server"),
    );
    let http = reqwest::Client::new();
    poll_until("the server answers /health", || async {
        http.get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    child
}

/// A dev token for `user` from `iskra-server token`.
fn user(vars: &[(String, String)], dir: &Path, base: &str, id: &str) -> User {
    let out = server(&["token", "--user", id], vars, &dir.join("token.log"))
        .output()
        .expect("iskra-server token");
    assert!(out.status.success(), "token: {out:?}");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    User::new(reqwest::Client::new(), base, id, Some(token))
}

async fn killed_during_a_deletion_then_it_finishes_after_restart(b: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let _services = match b {
        Backend::Embedded => None,
        Backend::Scaled => Some(crate::common::scaled_env(&mut cfg).await),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let secret = new_secret();
    let slow = env(&cfg, port, &secret, 400);
    let alice = user(&slow, dir.path(), &base, "user_crash_alice");
    let bob = user(&slow, dir.path(), &base, "user_crash_bob");

    let mut child = start(&slow, dir.path(), &base).await;
    let db = Inspect::connect(b, &cfg).await;
    let uploads: Vec<Vec<u8>> = (0..ASSETS).map(|i| png(32, 32, 100 + i)).collect();
    alice.new_project().await;
    for bytes in &uploads {
        alice.upload(bytes, "image/png").await.expect(201);
    }
    let bob_own = png(32, 32, 7);
    bob.upload(&uploads[0], "image/png").await.expect(201);
    bob.upload(&bob_own, "image/png").await.expect(201);
    let bob_rows = db.rows_of(&bob.id).await;
    let bob_blobs = db.blobs_of(&bob.id).await;
    assert_eq!(bob_blobs.len(), 2);
    assert_eq!(db.blobs_of(&alice.id).await.len(), ASSETS as usize);

    ClerkSender::new(&base, &secret)
        .deliver("msg_crash", &user_deleted(&alice.id))
        .await
        .expect(200);
    poll_until("the deletion is half done", || async {
        let left = db.blobs_of(&alice.id).await.len();
        left > 0 && left < ASSETS as usize - 1
    })
    .await;
    child.kill();

    // It was in progress when the process died: some blobs gone, rows and blobs still there.
    assert_eq!(
        db.deletion_phase(&alice.id).await.as_deref(),
        Some("deleting")
    );
    let left = db.blobs_of(&alice.id).await.len();
    assert!(left > 0 && left < ASSETS as usize, "{left} blobs left");
    assert_eq!(
        db.rows_of(&alice.id).await["users"],
        1,
        "the user row was still there"
    );

    let fast = env(&cfg, port, &secret, 0);
    let mut child = start(&fast, dir.path(), &base).await;
    alice
        .get("/v1/me")
        .await
        .expect_error(401, "UNAUTHENTICATED");
    poll_until("the deletion finished after the restart", || async {
        db.deletion_phase(&alice.id).await.as_deref() == Some("done")
    })
    .await;
    assert_empty(&db.rows_of(&alice.id).await, "alice");
    assert_eq!(db.blobs_of(&alice.id).await, Vec::<String>::new());
    assert_eq!(db.rows_of(&bob.id).await, bob_rows);
    assert_eq!(db.blobs_of(&bob.id).await, bob_blobs);
    for bytes in [&uploads[0], &bob_own] {
        let got = bob
            .get(&format!("/v1/assets/{}/content", sha256_hex(bytes)))
            .await;
        got.expect(200);
        assert_eq!(got.bytes.as_ref(), bytes.as_slice());
    }
    child.kill();
}

backend_tests!(killed_during_a_deletion_then_it_finishes_after_restart);
