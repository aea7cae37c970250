//! Harness of the server's whole-API tests: a real server on 127.0.0.1 over either storage
//! backend, authenticated request helpers, and [`backend_tests!`], which runs one test body on
//! both backends.
//!
//! - [`Backend::Embedded`]: SQLite, `file://` blobs and the in-process limiter in a temp dir.
//! - [`Backend::Scaled`]: a fresh PostgreSQL database, an S3 prefix and Redis with a random key
//!   prefix, from the services `scripts/test.sh` starts and exports. Without them these tests
//!   fail (never pass silently).

#![allow(dead_code, unused_imports)]

pub mod binary;
pub mod clerk;
pub mod http;
pub mod logs;
pub mod media;
pub mod replica;
pub mod sse;
pub mod svix;

pub use http::{assert_error_shape, send, status_of, Resp, User};

pub use iskra_clock::{Clock, ManualClock};
use iskra_server::{AppState, Config, StartError};
use sqlx::{Connection, Executor};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Runs each `async fn NAME(b: Backend)` twice, as the tests `NAME_embedded` and `NAME_scaled`.
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        $(paste::paste! {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn [<$name _embedded>]() {
                $name($crate::common::Backend::Embedded).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn [<$name _scaled>]() {
                $name($crate::common::Backend::Scaled).await;
            }
        })+
    };
}

/// Storage backend of a test server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Scaled,
}

/// Longest any bounded wait of the suite lasts before it fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Polls `check` until it is true; fails the test after [`WAIT`] saying what never happened.
pub async fn poll_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_for(what, || {
        let done = check();
        async move { done.await.then_some(()) }
    })
    .await
}

/// Polls `check` until it answers a value, and returns it; fails the test after [`WAIT`]
/// saying what never happened.
pub async fn poll_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every regular file below `dir` (none when it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Every operation of an OpenAPI document: method, path template and the operation object.
pub fn operations(doc: &serde_json::Value) -> Vec<(reqwest::Method, String, serde_json::Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if let Ok(method) = method.to_uppercase().parse::<reqwest::Method>() {
                out.push((method, path.clone(), op.clone()));
            }
        }
    }
    out
}

/// A running server with its state, base URL and HTTP client.
pub struct TestServer {
    pub backend: Backend,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub data_dir: PathBuf,
    /// The configuration it runs with (a replica starts from the same).
    pub config: Config,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<Result<(), StartError>>>>,
    database: Option<TestDatabase>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server on `backend`; `tweak` adjusts the configuration first.
    pub async fn start(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_on(backend, false, Clock::System, tweak).await
    }

    /// Like [`Self::start`], on `clock`: the test moves the server's time (limiter windows,
    /// token expiry, UTC days) with [`ManualClock::advance`] instead of waiting for it.
    pub async fn start_at(
        backend: Backend,
        clock: &ManualClock,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        Self::start_on(backend, false, clock.clock(), tweak).await
    }

    /// Like [`Self::start`], with `ISKRA_PUBLIC_URL` set to the server's own address (so fal
    /// webhooks and signed input URLs point back at it).
    pub async fn start_public(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_on(backend, true, Clock::System, tweak).await
    }

    async fn start_on(
        backend: Backend,
        public: bool,
        clock: Clock,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let mut cfg = Config {
            data_dir: data_dir.clone(),
            ..Config::default()
        };
        cfg.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let database = match backend {
            Backend::Embedded => None,
            Backend::Scaled => Some(scaled(&mut cfg).await),
        };
        if public {
            let addr = listener.local_addr().expect("local addr");
            cfg.public_url = Some(format!("http://{addr}"));
        }
        tweak(&mut cfg);
        Self::launch(backend, cfg, clock, database, dir, listener).await
    }

    /// A second server over the same database, storage and Redis (scaled backend), with its
    /// own data dir; it shares nothing else with this one.
    pub async fn replica(&self) -> TestServer {
        assert_eq!(
            self.backend,
            Backend::Scaled,
            "replicas share PostgreSQL, S3 and Redis"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cfg = self.config.clone();
        cfg.data_dir = dir.path().join("data");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let clock = self.state.clock.clone();
        Self::launch(self.backend, cfg, clock, None, dir, listener).await
    }

    async fn launch(
        backend: Backend,
        cfg: Config,
        clock: Clock,
        database: Option<TestDatabase>,
        dir: tempfile::TempDir,
        listener: tokio::net::TcpListener,
    ) -> TestServer {
        let data_dir = cfg.data_dir.clone();
        let config = cfg.clone();
        let addr = listener.local_addr().expect("local addr");
        let base = format!("http://{addr}");
        let public = iskra_server::public_base(&cfg, addr);
        let state = AppState::build_with_clock(cfg, public, clock)
            .await
            .expect("server state");
        let (tx, rx) = oneshot::channel::<()>();
        let stop = async move {
            let _ = rx.await;
        };
        let task = tokio::spawn(iskra_server::serve_state(state.clone(), listener, stop));
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client");
        TestServer {
            backend,
            addr,
            base,
            state,
            http,
            data_dir,
            config,
            shutdown: Mutex::new(Some(tx)),
            task: Mutex::new(Some(task)),
            database,
            _dir: dir,
        }
    }

    /// A server on `backend` with the default configuration.
    pub async fn default(backend: Backend) -> TestServer {
        Self::start(backend, |_| {}).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A dev-mode user `id` with a fresh token (the user row appears on its first request).
    pub fn user(&self, id: &str) -> User {
        let dev = self.state.dev.as_ref().expect("dev auth mode");
        let token = dev.mint(id, None, Duration::from_secs(3600));
        User::new(self.http.clone(), &self.base, id, Some(token))
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> User {
        User::new(self.http.clone(), &self.base, "anonymous", None)
    }

    /// The server's OpenAPI document (`GET /openapi.json`, which must answer 200).
    pub async fn openapi(&self) -> serde_json::Value {
        self.anonymous()
            .get("/openapi.json")
            .await
            .expect(200)
            .clone()
    }

    /// Starts a graceful shutdown (requests in flight finish, event streams end).
    pub fn begin_shutdown(&self) {
        if let Some(tx) = self.shutdown.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }

    /// Waits (bounded) for the server task to end after [`Self::begin_shutdown`].
    pub async fn stopped(&self) -> Result<(), StartError> {
        let task = self
            .task
            .lock()
            .unwrap()
            .take()
            .expect("server task already awaited");
        tokio::time::timeout(WAIT, task)
            .await
            .expect("server did not stop")
            .expect("server task panicked")
    }

    /// Files left in the upload temp dir.
    pub fn tmp_files(&self) -> Vec<PathBuf> {
        files_under(&self.data_dir.join("tmp"))
    }

    /// Keys of every blob the server stored, on either backend: the files under the local
    /// blob directory, or the objects under the server's prefix listed from the S3 bucket.
    pub async fn blobs(&self) -> Vec<String> {
        match self.backend {
            Backend::Embedded => {
                let root = self.data_dir.join("blobs");
                files_under(&root)
                    .iter()
                    .map(|f| f.strip_prefix(&root).unwrap_or(f).to_string_lossy().into())
                    .collect()
            }
            Backend::Scaled => {
                let url = self.config.storage_url.as_deref().expect("scaled storage");
                s3_keys(url).await
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.begin_shutdown();
        if let Some(db) = self.database.take() {
            db.drop_blocking();
        }
    }
}

/// Keys of the objects under the `s3://bucket/prefix` of `url`, relative to the prefix, listed
/// straight from the bucket (not through the server's store).
async fn s3_keys(url: &str) -> Vec<String> {
    use futures::TryStreamExt;
    let rest = url.strip_prefix("s3://").expect("an s3:// storage URL");
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let store = iskra_server::blobs::bucket_from_env(bucket).expect("S3 client");
    let prefix = object_store::path::Path::from(prefix);
    let objects: Vec<_> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("list {url}: {e}"));
    objects
        .into_iter()
        .map(|o| {
            let key = o.location.as_ref();
            key.strip_prefix(prefix.as_ref())
                .map_or(key, |k| k.trim_start_matches('/'))
                .to_owned()
        })
        .collect()
}

/// Message of every failure caused by missing scale-out services.
const RUN_TEST_SH: &str =
    "the scaled backend tests need PostgreSQL, Redis and an S3 server (moto): \
     run scripts/test.sh, which starts them and exports ISKRA_TEST_S3_BUCKET, AWS_ENDPOINT_URL and \
     the AWS credentials";

/// Points `cfg` at a fresh PostgreSQL database, an S3 prefix and a Redis key prefix.
async fn scaled(cfg: &mut Config) -> TestDatabase {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(bucket), Some(_)) = (var("ISKRA_TEST_S3_BUCKET"), var("AWS_ENDPOINT_URL")) else {
        panic!("ISKRA_TEST_S3_BUCKET / AWS_ENDPOINT_URL are not set: {RUN_TEST_SH}");
    };
    let pg = var("ISKRA_TEST_POSTGRES_URL")
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = TestDatabase::create(&pg).await;
    let run = Uuid::new_v4().simple().to_string();
    cfg.database_url = Some(db.url.clone());
    cfg.storage_url = Some(format!("s3://{bucket}/t-{run}"));
    cfg.redis_url =
        Some(var("ISKRA_TEST_REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()));
    cfg.redis_prefix = format!("iskra-t-{run}");
    // Replicas of one deployment share the signing secret (tokens, signed URLs).
    cfg.signing_secret = Some(format!("test-secret-{run}"));
    db
}

/// The scale-out services of one test (a fresh database, S3 prefix and Redis prefix) for a
/// server the test runs itself; the database is dropped with this value.
pub struct ScaledEnv(TestDatabase);

impl Drop for ScaledEnv {
    fn drop(&mut self) {
        self.0.drop_blocking();
    }
}

/// Points `cfg` at fresh scale-out services (see [`Backend::Scaled`]).
pub async fn scaled_env(cfg: &mut Config) -> ScaledEnv {
    ScaledEnv(scaled(cfg).await)
}

/// A database created for one test and dropped (best effort) when the server is dropped.
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create(admin_url: &str) -> TestDatabase {
        let mut conn = sqlx::postgres::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url}: {e}; {RUN_TEST_SH}"));
        let name = format!("iskra_t_{}", Uuid::new_v4().simple());
        let mut attempt = 0;
        // Concurrent CREATE DATABASE from one template can collide; retry a few times.
        while let Err(e) = conn
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
        {
            attempt += 1;
            assert!(attempt < 20, "CREATE DATABASE {name}: {e}");
            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
        }
        let _ = conn.close().await;
        let url = database_url(admin_url, &name);
        TestDatabase {
            admin_url: admin_url.to_owned(),
            name,
            url,
        }
    }

    /// Drops the database on a helper thread (this may run inside the test's runtime).
    fn drop_blocking(&self) {
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = sqlx::postgres::PgConnection::connect(&admin).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

/// `admin_url` with its database name replaced by `name` (query string kept).
fn database_url(admin_url: &str, name: &str) -> String {
    let (main, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(m, q)| (m, Some(q)));
    let scheme_end = main.find("://").map_or(0, |i| i + 3);
    let authority_end = main[scheme_end..]
        .find('/')
        .map_or(main.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &main[..authority_end]);
    if let Some(q) = query {
        url = format!("{url}?{q}");
    }
    url
}
