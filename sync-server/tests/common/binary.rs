//! The real `iskra-server` binary as a child process, for tests that kill it (SIGKILL) and
//! start it again over the same data: its environment from a test [`Config`], admin commands
//! (`token`, `credits`), start-up waiting on `/health`, and a kill that also happens when the
//! test fails.

use super::User;
use iskra_fake_fal::FakeFal;
use iskra_protocol::Tier;
use iskra_server::Config;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A server binary over one data directory (and, on the scaled backend, the services of
/// `cfg`), started and killed by the test.
pub struct BinaryServer {
    pub base: String,
    vars: Vec<(String, String)>,
    dir: PathBuf,
    child: Option<Child>,
}

/// The variables that point a server at a fake fal (with quick polling).
pub fn fal_env(fal: &FakeFal) -> Vec<(String, String)> {
    [
        ("ISKRA_FAL_KEY", fal.key()),
        ("ISKRA_FAL_QUEUE_URL", fal.queue_url()),
        ("ISKRA_FAL_REST_URL", fal.rest_url()),
        ("ISKRA_FAL_JWKS_URL", fal.jwks_url()),
        ("ISKRA_GENERATION__POLL_INTERVAL_MS", "20".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

impl BinaryServer {
    /// A server for `cfg` (data dir, database, storage, Redis) on a free loopback port, with
    /// `extra` variables; logs go to files in `dir`.
    pub fn new(cfg: &Config, dir: &Path, extra: Vec<(String, String)>) -> BinaryServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut vars = vec![
            ("ISKRA_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
            (
                "ISKRA_DATA_DIR".to_owned(),
                cfg.data_dir.display().to_string(),
            ),
            ("ISKRA_LOG_FORMAT".to_owned(), "pretty".to_owned()),
            ("ISKRA_REDIS_PREFIX".to_owned(), cfg.redis_prefix.clone()),
            // Several servers may run at once: none binds the metrics port.
            ("ISKRA_METRICS_LISTEN".to_owned(), "off".to_owned()),
        ];
        let optional = [
            ("ISKRA_DATABASE_URL", &cfg.database_url),
            ("ISKRA_STORAGE_URL", &cfg.storage_url),
            ("ISKRA_REDIS_URL", &cfg.redis_url),
            ("ISKRA_SIGNING_SECRET", &cfg.signing_secret),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                vars.push((name.to_owned(), v.clone()));
            }
        }
        vars.extend(extra);
        BinaryServer {
            base: format!("http://127.0.0.1:{port}"),
            vars,
            dir: dir.to_owned(),
            child: None,
        }
    }

    /// Sets (or replaces) one variable of the server's environment.
    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.to_owned(), value.to_owned()));
    }

    /// `iskra-server ARGS` with this server's environment only, its stderr appended to `log`
    /// in the test's directory.
    pub fn command(&self, args: &[&str], log: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_iskra-server"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.vars.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.join(log))
                    .expect("log file"),
            );
        // The S3 settings, and the mark scripts/test.sh finds the processes of its run by.
        for inherited in [
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "ISKRA_TEST_RUN",
        ] {
            if let Ok(v) = std::env::var(inherited) {
                cmd.env(inherited, v);
            }
        }
        cmd
    }

    /// Runs an admin command to completion; fails the test when it fails. Returns its stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = self
            .command(args, "admin.log")
            .output()
            .expect("run iskra-server");
        assert!(out.status.success(), "iskra-server {args:?}: {out:?}");
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// A user of this server with a dev token (and `tier`).
    pub fn user(&self, id: &str, tier: Tier) -> User {
        let token = self.admin(&["token", "--user", id, "--tier", tier.as_str()]);
        User::new(
            reqwest::Client::new(),
            &self.base,
            id,
            Some(token.trim().to_owned()),
        )
    }

    /// Starts `iskra-server serve` and waits until `/health` answers.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = self
            .command(&["serve"], "server.log")
            .spawn()
            .expect("spawn iskra-server");
        self.child = Some(child);
        let http = reqwest::Client::new();
        let url = format!("{}/health", self.base);
        super::poll_until("the server answers /health", || async {
            http.get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }

    /// Kills the process with SIGKILL (no graceful shutdown) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for BinaryServer {
    fn drop(&mut self) {
        self.kill();
    }
}
