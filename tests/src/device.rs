//! A device of the whole-system tests: a real [`Engine`] in its own temporary data dir, signed
//! in with a dev token and pointed at a server URL (the server itself or a proxy in front of
//! it). Tests edit through the engine's public API and sync either by explicit passes
//! ([`Device::sync`]) or with the live loop the desktop runs ([`Device::start_watch`]).
//!
//! Also the polling helper [`eventually`]: tests wait for conditions with a bound, never with
//! sleeps as synchronisation.

use iskra_engine::store::outbox::OutboxOp;
use iskra_engine::sync::{SyncClient, SyncError, SyncReport};
use iskra_engine::Engine;
use iskra_protocol::Canvas;
use serde_json::Value;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Interval between two checks of [`eventually`].
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Polls `check` until it yields `Some`, at most for `bound`; panics naming `what` otherwise.
pub async fn eventually<T, F, Fut>(what: &str, bound: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {bound:?}: {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// `c` with its elements ordered by id, to compare canvases from different replicas.
pub fn by_id(mut c: Canvas) -> Canvas {
    c.elements.sort_by_key(|e| e.id);
    c
}

/// The running sync loop of a device.
struct Watch {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), SyncError>>,
}

/// One engine with its own data dir and session.
pub struct Device {
    pub engine: Engine,
    pub sync: SyncClient,
    /// The session's token (also given to the CLI, as `ISKRA_TOKEN`).
    token: String,
    watch: Option<Watch>,
    // Declared last: the data dir outlives the engine.
    _dir: TempDir,
}

impl Device {
    /// A fresh device signed in with `token` against the server at `url`.
    pub fn new(url: &str, token: &str) -> Self {
        let dir = tempfile::tempdir().expect("device dir");
        let engine = Engine::open(dir.path()).expect("engine");
        let sync = SyncClient::new(engine.clone(), url, token).expect("sync client");
        Self {
            engine,
            sync,
            token: token.to_owned(),
            watch: None,
            _dir: dir,
        }
    }

    /// One sync pass (push, then pull), as the outcome says.
    pub async fn try_sync(&self) -> Result<SyncReport, SyncError> {
        self.sync.sync_once().await
    }

    /// One sync pass that must succeed.
    pub async fn sync(&self) -> SyncReport {
        self.try_sync().await.expect("sync pass")
    }

    /// Keeps passing until nothing is pending (waiting out backoffs), within `bound`.
    pub async fn sync_until_flushed(&self, bound: Duration) {
        eventually("the outbox to flush", bound, || async {
            let due = self
                .engine
                .pending_ops()
                .expect("outbox")
                .iter()
                .any(|o| o.next_attempt_ms <= iskra_engine::store::now_ms());
            if due {
                let _ = self.try_sync().await;
            }
            (self.pending() == 0).then_some(())
        })
        .await;
        // The last pass may have stopped before its pull; one clean pass ends in step.
        eventually("a clean sync pass", bound, || async {
            self.try_sync().await.ok()
        })
        .await;
    }

    /// Starts the live sync loop (pushes on edits, pulls on server events).
    pub fn start_watch(&mut self) {
        assert!(self.watch.is_none(), "already watching");
        let (stop, stopped) = oneshot::channel::<()>();
        let sync = self.sync.clone();
        let task = tokio::spawn(async move {
            sync.watch(async move {
                let _ = stopped.await;
            })
            .await
        });
        self.watch = Some(Watch { stop, task });
    }

    /// Stops the live sync loop; it must not have failed.
    pub async fn stop_watch(&mut self) {
        if let Some(w) = self.watch.take() {
            let _ = w.stop.send(());
            w.task.await.expect("watch task").expect("watch loop");
        }
    }

    /// A new project, as the engine created it.
    pub fn create_project(&self) -> Uuid {
        self.engine.create_project(None).expect("create project").id
    }

    /// The materialised canvas of a project on this device.
    pub fn canvas(&self, project: Uuid) -> Canvas {
        self.engine
            .open_project(project)
            .expect("open project")
            .canvas
    }

    /// Operations waiting to be sent.
    pub fn pending(&self) -> u64 {
        self.engine.outbox_counts().expect("outbox counts").0
    }

    /// Runs the real `iskra` CLI on this device's data dir with `--json`; its parsed output.
    /// The binary is built first (see [`iskra_binary`]): never a missing or stale one.
    pub fn cli(&self, args: &[&str]) -> Value {
        let out = Command::new(iskra_binary())
            .arg("--json")
            .arg("--data-dir")
            .arg(self.engine.data_dir())
            .args(args)
            .env("ISKRA_SERVER", self.sync.api().base())
            .env("ISKRA_TOKEN", &self.token)
            .output()
            .expect("run iskra");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "iskra {args:?}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).expect("iskra --json output")
    }

    /// Operations the server refused, kept for the user.
    pub fn rejected(&self) -> Vec<OutboxOp> {
        let ops = self.engine.outbox().expect("outbox");
        ops.into_iter()
            .filter(|o| o.state == iskra_engine::store::outbox::OpState::Rejected)
            .collect()
    }
}

/// The `iskra` binary of this workspace's current sources, built once per test process by
/// the cargo that runs the tests: the same build `cargo test --workspace` makes for the
/// engine's CLI tests (same profile and features, so nothing is rebuilt when it is fresh),
/// rebuilt when a source changed. A build that fails fails the test.
fn iskra_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build_iskra)
}

fn build_iskra() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let out = Command::new(&cargo)
        .args(["test", "--workspace", "--no-run", "--test", "cli"])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} to build iskra: {e}", cargo.display()));
    assert!(
        out.status.success(),
        "building the iskra CLI failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| {
            m["reason"] == "compiler-artifact"
                && m["target"]["name"] == "iskra"
                && m["target"]["kind"][0] == "bin"
        })
        .and_then(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the iskra executable it built");
    assert!(bin.exists(), "{} is missing after its build", bin.display());
    bin
}

impl Drop for Device {
    fn drop(&mut self) {
        if let Some(w) = self.watch.take() {
            let _ = w.stop.send(());
            w.task.abort();
        }
    }
}
