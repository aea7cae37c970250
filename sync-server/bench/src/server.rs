//! The server under test: a real `iskra-server serve` child process with a fresh data
//! directory, a free loopback port and rate limits too high to interfere; dev tokens minted by
//! `iskra-server token`; its memory read from `/proc/<pid>/status`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::process::{Child, Command};

/// Per-minute request limit given to users and IPs so the limiter never refuses.
const GENEROUS_LIMIT: &str = "100000000";
/// How long the server may take to answer `GET /health` after starting.
const STARTUP: Duration = Duration::from_secs(30);

/// A running `iskra-server`, killed when dropped.
pub struct Server {
    child: Child,
    bin: PathBuf,
    env: Vec<(&'static str, String)>,
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub base: String,
    /// The server's process id.
    pub pid: u32,
    /// The data directory (and the server's log), removed on drop.
    pub dir: TempDir,
}

/// Resident memory of the server, in MB (10^6 bytes).
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Current resident set (`VmRSS`).
    pub rss: f64,
    /// Peak resident set since start or the last [`Server::reset_peak`] (`VmHWM`).
    pub peak: f64,
}

impl Server {
    /// Starts `bin serve` and waits until `GET /health` answers 200.
    pub async fn start(bin: &Path) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("iskra-bench-").tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let env = vec![
            ("ISKRA_DATA_DIR", dir.path().join("data").display().to_string()),
            ("ISKRA_LISTEN", format!("127.0.0.1:{port}")),
            ("ISKRA_RATE_LIMITS__USER__MINUTE", GENEROUS_LIMIT.into()),
            ("ISKRA_RATE_LIMITS__IP__MINUTE", GENEROUS_LIMIT.into()),
            ("ISKRA_LOG_FORMAT", "json".into()),
            ("RUST_LOG", "warn".into()),
        ];
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let child = Command::new(bin)
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id().context("server exited at once")?;
        let server = Self { child, bin: bin.to_owned(), env, base: format!("http://127.0.0.1:{port}"), pid, dir };
        server.wait_healthy().await?;
        Ok(server)
    }

    async fn wait_healthy(&self) -> Result<()> {
        let http = reqwest::Client::new();
        let start = Instant::now();
        loop {
            if let Ok(r) = http.get(self.url("/health")).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if start.elapsed() > STARTUP {
                bail!("server not healthy after {STARTUP:?}; log:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The full URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A dev token for `user` (created with tier enterprise), via `iskra-server token`.
    pub async fn token(&self, user: &str) -> Result<String> {
        let out = Command::new(&self.bin)
            .args(["token", "--user", user, "--tier", "enterprise"])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .await?;
        if !out.status.success() {
            bail!("iskra-server token failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8(out.stdout)?.trim().to_owned())
    }

    /// Current and peak resident memory of the server process.
    pub fn memory(&self) -> Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let field = |name: &str| -> Result<f64> {
            let line = status.lines().find(|l| l.starts_with(name)).context("no such field")?;
            let kb: f64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse()?;
            Ok(kb * 1024.0 / 1e6)
        };
        Ok(Memory { rss: field("VmRSS:")?, peak: field("VmHWM:")? })
    }

    /// Resets the peak (`VmHWM`) to the current RSS, so a later peak belongs to what ran after.
    pub fn reset_peak(&self) -> Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5")
            .context("cannot reset VmHWM through /proc/<pid>/clear_refs")
    }

    /// The last lines of the server's log (warnings and errors).
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Kills the server and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
