//! The server under test: a real `iskra-server serve` child process with a fresh data
//! directory, a free loopback port, rate limits too high to interfere and any further
//! settings as environment; dev tokens minted by `iskra-server token` and credits granted by
//! `iskra-server credits grant` with the same environment; memory and CPU time read from `/proc/<pid>/`.

use anyhow::{bail, ensure, Context, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::process::{Child, Command};

/// Per-minute request limit given to users and IPs so the limiter never refuses.
const GENEROUS_LIMIT: &str = "100000000";
/// `USER_HZ`, the unit of CPU times in `/proc/PID/stat` (100 on every Linux port in use).
const CLOCK_TICKS: f64 = 100.0;
/// How long the server may take to answer `GET /health`.
const STARTUP: Duration = Duration::from_secs(30);

/// A running `iskra-server`, killed when dropped.
pub struct Server {
    child: Child,
    bin: PathBuf,
    env: Vec<(&'static str, String)>,
    base: String,
    pid: u32,
    /// The data directory and the server's log, removed on drop.
    dir: TempDir,
}

/// Resident memory of the server, MB (10^6 bytes).
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Current resident set (`VmRSS`).
    pub rss: f64,
    /// Peak resident set since start or the last [`Server::reset_peak`] (`VmHWM`).
    pub peak: f64,
}

/// CPU time process `pid` has used so far (user and system), in seconds.
pub fn cpu_secs(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').context("no command name")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / CLOCK_TICKS)
}

/// `bin args…` with the server's environment; killed if dropped while running.
fn command(bin: &Path, env: &[(&'static str, String)], args: &[&str]) -> Command {
    let mut command = Command::new(bin);
    command
        .args(args)
        .envs(env.iter().cloned())
        .kill_on_drop(true);
    command
}

impl Server {
    /// Starts `bin serve` in a fresh temporary data directory and waits until it is healthy.
    pub async fn start(bin: &Path) -> Result<Self> {
        Self::start_with(bin, |_| Vec::new()).await
    }

    /// [`Server::start`] with more environment: `extra` gets the server's base URL
    /// (`http://127.0.0.1:PORT`) and returns variables that are added (and win).
    pub async fn start_with(
        bin: &Path,
        extra: impl FnOnce(&str) -> Vec<(&'static str, String)>,
    ) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("iskra-bench-").tempdir()?;
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let data = dir.path().join("data").display().to_string();
        let base = format!("http://{addr}");
        let mut env = vec![
            ("ISKRA_DATA_DIR", data),
            ("ISKRA_LISTEN", addr.to_string()),
            ("ISKRA_RATE_LIMITS__USER__MINUTE", GENEROUS_LIMIT.into()),
            ("ISKRA_RATE_LIMITS__IP__MINUTE", GENEROUS_LIMIT.into()),
            ("ISKRA_LOG_FORMAT", "json".into()),
            ("RUST_LOG", "warn".into()),
            // Several servers may run at once: none binds the metrics port.
            ("ISKRA_METRICS_LISTEN", "off".into()),
        ];
        env.extend(extra(&base));
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let mut serve = command(bin, &env, &["serve"]);
        let child = serve.stdout(log.try_clone()?).stderr(log).spawn()?;
        let pid = child.id().context("the server exited at once")?;
        let bin = bin.to_owned();
        let server = Self {
            child,
            bin,
            env,
            base,
            pid,
            dir,
        };
        let (http, start) = (reqwest::Client::new(), Instant::now());
        while start.elapsed() < STARTUP {
            let answer = http.get(server.url("/health")).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (_, log) = server.log_tail();
        bail!("server not healthy after {STARTUP:?}; log:\n{log}")
    }

    /// The full URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A dev token for `user` (created with tier enterprise) from `iskra-server token`.
    pub async fn token(&self, user: &str) -> Result<String> {
        let args = ["token", "--user", user, "--tier", "enterprise"];
        let out = command(&self.bin, &self.env, &args).output().await?;
        let err = String::from_utf8_lossy(&out.stderr);
        ensure!(out.status.success(), "iskra-server token: {err}");
        Ok(String::from_utf8(out.stdout)?.trim().to_owned())
    }

    /// Grants `user` `amount` credits through the admin command `iskra-server credits grant`.
    pub async fn grant(&self, user: &str, amount: u32) -> Result<()> {
        let amount = amount.to_string();
        let args = ["credits", "grant", user, &amount, "--reason", "bench"];
        let out = command(&self.bin, &self.env, &args).output().await?;
        let err = String::from_utf8_lossy(&out.stderr);
        ensure!(out.status.success(), "iskra-server credits grant: {err}");
        Ok(())
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// CPU time the server process has used so far (user and system), in seconds.
    pub fn cpu_secs(&self) -> Result<f64> {
        cpu_secs(self.pid)
    }

    /// Context switches of all the server's threads so far (voluntary and not).
    pub fn context_switches(&self) -> Result<u64> {
        let mut n = 0;
        for task in std::fs::read_dir(format!("/proc/{}/task", self.pid))? {
            // A thread that ended meanwhile is skipped.
            let Ok(status) = std::fs::read_to_string(task?.path().join("status")) else {
                continue;
            };
            n += status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        }
        Ok(n)
    }

    /// Current and peak resident memory of the server process.
    pub fn memory(&self) -> Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let mb = |field: &str| -> Result<f64> {
            let line = status.lines().find_map(|l| l.strip_prefix(field));
            let kb = line
                .context("no such field")?
                .trim()
                .trim_end_matches(" kB");
            Ok(kb.parse::<f64>()? * 1024.0 / 1e6)
        };
        let (rss, peak) = (mb("VmRSS:")?, mb("VmHWM:")?);
        Ok(Memory { rss, peak })
    }

    /// Resets the peak (`VmHWM`) to the current RSS, so a later peak belongs to what ran after.
    pub fn reset_peak(&self) -> Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").context("resetting VmHWM")
    }

    /// How many lines the server logged (warnings and errors), and the last few.
    pub fn log_tail(&self) -> (usize, String) {
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let last = lines[lines.len().saturating_sub(3)..].join("\n");
        (lines.len(), last)
    }

    /// Kills the server and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
