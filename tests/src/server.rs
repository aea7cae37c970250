//! A real `iskra-server` on loopback that a test can stop and start again on the SAME port and
//! data directory, as an outage looks to devices: [`TestServer::start`], [`TestServer::stop`]
//! (graceful: requests in flight finish), [`TestServer::restart`]. Dev tokens are minted with
//! the server's own key (kept in the data dir, so they stay valid across restarts), and a few
//! typed reads of the HTTP API let tests compare the server's view with the devices'.

use iskra_auth::DevAuth;
use iskra_fake_fal::FakeFal;
use iskra_protocol::{ChangesResponse, ProjectDetail};
use iskra_server::{public_base, serve_state, AppState, Config, StartError};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// How long minted dev tokens stay valid.
const TOKEN_TTL: Duration = Duration::from_secs(3600);
/// How long a restart may wait for the old port to be free again.
const REBIND_BOUND: Duration = Duration::from_secs(10);

/// A server task and the switch that stops it.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), StartError>>,
}

/// A real server on `127.0.0.1`, stoppable and restartable.
pub struct TestServer {
    config: Config,
    addr: SocketAddr,
    dev: DevAuth,
    running: Option<Running>,
    http: reqwest::Client,
}

impl TestServer {
    /// The configuration of a dev-mode server storing into `dir` on a free loopback port.
    pub fn config(dir: &Path) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.to_path_buf(),
            log_format: "pretty".into(),
            ..Config::default()
        }
    }

    /// [`TestServer::config`] with generation wired to `fal` (key, queue, REST and JWKS
    /// addresses) and polled every 20 ms.
    pub fn config_with_fal(dir: &Path, fal: &FakeFal) -> Config {
        let mut cfg = Self::config(dir);
        cfg.fal_key = Some(fal.key());
        cfg.fal_queue_url = fal.queue_url();
        cfg.fal_rest_url = fal.rest_url();
        cfg.fal_jwks_url = fal.jwks_url();
        cfg.generation.poll_interval_ms = 20;
        cfg
    }

    /// Starts a dev-mode server storing into `dir`.
    pub async fn start(dir: &Path) -> Self {
        Self::start_with(Self::config(dir)).await
    }

    /// Starts a server with `config` (`listen` port 0 picks a free port).
    pub async fn start_with(mut config: Config) -> Self {
        let listener = TcpListener::bind(config.listen).await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        config.listen = addr;
        let state = build(&config, addr).await;
        let dev = state.dev.clone().expect("the test server runs in dev mode");
        Self {
            config,
            addr,
            dev,
            running: Some(run(state, listener)),
            http: reqwest::Client::new(),
        }
    }

    /// Stops gracefully: no new connections, requests in flight finish, event streams end.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            running.task.await.expect("server task").expect("server");
        }
    }

    /// Stops (when running) and starts again on the same port and data dir.
    pub async fn restart(&mut self) {
        self.stop().await;
        let deadline = tokio::time::Instant::now() + REBIND_BOUND;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                // The old socket may linger for a moment after the stop.
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("cannot bind {} again: {e}", self.addr),
            }
        };
        let state = build(&self.config, self.addr).await;
        self.running = Some(run(state, listener));
    }

    /// Whether the server is serving.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL devices use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A dev token for `user`.
    pub fn token(&self, user: &str) -> String {
        self.dev.mint(user, None, TOKEN_TTL)
    }

    /// A dev token for `user` that carries an email (what account menus show).
    pub fn token_with_email(&self, user: &str, email: &str) -> String {
        self.dev.mint(user, Some(email), TOKEN_TTL)
    }

    /// `GET path` as the holder of `token`; panics unless the answer is a 2xx JSON `T`.
    pub async fn get<T: DeserializeOwned>(&self, token: &str, path: &str) -> T {
        let resp = self
            .http
            .get(format!("{}{path}", self.url()))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET");
        let status = resp.status();
        let body = resp.text().await.expect("body");
        assert!(status.is_success(), "GET {path}: {status} {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// `GET /v1/projects/{id}`: the server's canvas of a project.
    pub async fn project(&self, token: &str, id: Uuid) -> ProjectDetail {
        self.get(token, &format!("/v1/projects/{id}")).await
    }

    /// `GET /v1/projects/{id}/changes` from the beginning: the server's whole change log.
    pub async fn change_log(&self, token: &str, id: Uuid) -> ChangesResponse {
        self.get(token, &format!("/v1/projects/{id}/changes")).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
        }
    }
}

async fn build(config: &Config, addr: SocketAddr) -> AppState {
    AppState::build(config.clone(), public_base(config, addr))
        .await
        .expect("server state")
}

fn run(state: AppState, listener: TcpListener) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_state(state, listener, async move {
        let _ = stopped.await;
    }));
    Running { stop, task }
}
