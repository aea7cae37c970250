//! The server's relational store: one implementation over `sqlx::Any`, serving SQLite (the
//! embedded default) and PostgreSQL (scale-out) with the same SQL.
//!
//! All statements use `$N` placeholders and portable types (TEXT, BIGINT), which both backends
//! accept; only the migrations differ per backend (`migrations/server/{sqlite,postgres}`). Write
//! transactions begin with a write, so SQLite takes its write lock up front and never fails a
//! lock upgrade; counters that guard limits are changed by conditional `UPDATE`s, which are
//! atomic on both backends.

pub mod anonymous;
pub mod api_keys;
pub mod assets;
pub mod canvas;
pub mod credits;
pub mod generations;
pub mod idempotency;
pub mod keyset;
pub mod leads;
pub mod projects;
pub mod script;
pub mod shares;
pub mod users;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::time::Duration;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Pool for writes: on SQLite a single connection, so writers queue in-process instead of
    /// racing for the database lock in SQLite's busy handler; on PostgreSQL the same pool.
    writer: AnyPool,
    backend: Backend,
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/server/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("../migrations/server/postgres");

/// Most pooled connections per server process.
const MAX_CONNECTIONS: u32 = 16;
/// How long a request waits for a connection (writes on SQLite queue for the one writer).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a SQLite statement waits for a lock another process holds (an admin command).
const BUSY_TIMEOUT_MS: u64 = 10_000;
/// How long the writer waits for readers to leave the WAL before restarting it; past that the
/// restart is left to the next checkpoint, so writers are never held for long.
const RESTART_WAIT_MS: u64 = 20;
/// WAL size past which a checkpoint restarts the WAL from its beginning (SQLite).
///
/// A PASSIVE checkpoint copies pages without stopping the writer, but while pushes keep coming
/// the WAL is never wholly copied at the moment a write begins, which is when SQLite would
/// start it over — so under steady load it grew without end (40 MB/s at 1,000 devices),
/// every commit appending to new file blocks. Restarting takes the writer for the few frames
/// written since the PASSIVE pass and two fsyncs (about 10 ms here); this bound makes that
/// rare — every 6 s at 1,000 pushes a second — and keeps the file at most this size.
pub const WAL_RESTART_BYTES: u64 = 256 << 20;

/// What a checkpoint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// Frames in the WAL when the PASSIVE pass ran.
    pub wal_frames: i64,
    /// Whether the WAL was restarted (its next write goes to its beginning).
    pub restarted: bool,
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = |max: u32| {
            let opts = AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(ACQUIRE_TIMEOUT);
            if backend != Backend::Sqlite {
                return opts;
            }
            // A connection to a local file cannot go stale the way a network connection can:
            // no ping on every acquire (a round trip to SQLite's worker thread per transaction).
            opts.test_before_acquire(false).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        format!(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                             PRAGMA foreign_keys=ON; PRAGMA busy_timeout={BUSY_TIMEOUT_MS}; \
                             PRAGMA wal_autocheckpoint=0;"
                        )
                        .as_str(),
                    )
                    .await?;
                    Ok(())
                })
            })
        };
        let pool = options(MAX_CONNECTIONS).connect(url).await?;
        let writer = match backend {
            Backend::Sqlite => options(1).connect(url).await?,
            Backend::Postgres => pool.clone(),
        };
        Ok(Self {
            pool,
            writer,
            backend,
        })
    }

    /// Opens (creating if needed) the SQLite file `path`.
    pub async fn open_sqlite_file(path: &Path) -> Result<Self, StoreError> {
        Self::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Applies the pending migrations of this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for writes and write transactions.
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// `count` bulk-statement placeholders numbered from `start + 1`: anonymous `?` on SQLite
    /// (binding them is constant time; numbered ones cost SQLite a name lookup each), `$n` on
    /// PostgreSQL. Only for statements whose parameters appear once each, in binding order.
    pub fn params(&self, start: usize, count: usize) -> Vec<String> {
        (start + 1..=start + count)
            .map(|n| match self.backend {
                Backend::Sqlite => "?".to_owned(),
                Backend::Postgres => format!("${n}"),
            })
            .collect()
    }

    /// `(…), (…)` groups of `cols` bulk placeholders for `rows` rows, from `start + 1`.
    pub fn row_params(&self, rows: usize, cols: usize, start: usize) -> String {
        self.params(start, rows * cols)
            .chunks(cols)
            .map(|row| format!("({})", row.join(", ")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Copies committed WAL pages into the database (SQLite only; a no-op on PostgreSQL), and
    /// restarts the WAL once it is larger than `restart_over` bytes (see [`WAL_RESTART_BYTES`]).
    /// Automatic checkpoints are off, because SQLite would run them inside whichever commit
    /// crosses the threshold — a client's push; [`crate::maintenance`] calls this instead.
    /// The copy is PASSIVE, on a reader connection: it never blocks the writer.
    pub async fn checkpoint(&self, restart_over: u64) -> Result<Checkpoint, sqlx::Error> {
        if self.backend != Backend::Sqlite {
            return Ok(Checkpoint::default());
        }
        let mut conn = self.pool.acquire().await?;
        let (_, wal_frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut *conn)
            .await?;
        let (page_size,): (i64,) = sqlx::query_as("PRAGMA page_size")
            .fetch_one(&mut *conn)
            .await?;
        drop(conn);
        let wal_bytes = u64::try_from(wal_frames.max(0) * page_size).unwrap_or(u64::MAX);
        let restarted = wal_bytes > restart_over && self.restart_wal().await?;
        Ok(Checkpoint {
            wal_frames,
            restarted,
        })
    }

    /// Copies what is left of the WAL and starts it over, on the writer's connection (writes
    /// queue meanwhile); `false` when readers still in the WAL kept it from restarting.
    async fn restart_wal(&self) -> Result<bool, sqlx::Error> {
        let mut conn = self.writer.acquire().await?;
        let wait = |ms: u64| format!("PRAGMA busy_timeout={ms}");
        conn.execute(wait(RESTART_WAIT_MS).as_str()).await?;
        let done: Result<(i64, i64, i64), sqlx::Error> =
            sqlx::query_as("PRAGMA wal_checkpoint(RESTART)")
                .fetch_one(&mut *conn)
                .await;
        if let Err(e) = conn.execute(wait(BUSY_TIMEOUT_MS).as_str()).await {
            // Never hand the writer back with the short wait: the pool opens a new connection
            // (with the usual one) in its place.
            conn.close_on_drop();
            return Err(e);
        }
        Ok(done?.0 == 0)
    }

    /// A trivial query, for `/health`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(|_: AnyRow| ())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// RFC 3339 UTC rendering of a millisecond timestamp.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use iskra_protocol::{Change, Clock};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use uuid::Uuid;

    /// Pushes made while checkpoints run beside them.
    const PUSHES: usize = 2_000;
    /// The restart threshold of this test (the server's is [`WAL_RESTART_BYTES`]).
    const RESTART_OVER: u64 = 1 << 20;

    /// A migrated SQLite store in `dir` (`iskra.db`) with the user `u` and one project of theirs.
    pub(super) async fn user_with_project(dir: &Path) -> (Store, Uuid) {
        let store = Store::open_sqlite_file(&dir.join("iskra.db"))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store.ensure_user("u", None).await.unwrap();
        let project = Uuid::new_v4();
        store.create_project("u", project, None).await.unwrap();
        (store, project)
    }

    /// A change setting `x` to `n` on `element`, at tick `n` of `clock` (shared by the store's
    /// tests).
    pub(super) fn change(clock: &mut Clock, element: Uuid, n: usize) -> Change {
        let set = serde_json::Map::from_iter([("x".into(), serde_json::json!(n))]);
        Change {
            op_id: Uuid::new_v4(),
            element_id: element.to_string(),
            set: Some(set),
            delete: None,
            clock: clock.tick(1_700_000_000_000 + n as u64),
        }
    }

    /// Under pushes that never pause and readers that never stop, a PASSIVE checkpoint alone
    /// never finds the WAL wholly copied when a write begins, so SQLite never starts it over;
    /// the restart past the threshold keeps the file small.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_steady_pushes() {
        let dir = tempfile::tempdir().unwrap();
        let (store, project) = user_with_project(dir.path()).await;

        let pushed = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let writer = {
            let (store, pushed) = (store.clone(), pushed.clone());
            tokio::spawn(async move {
                let (client, mut clock) = (Uuid::new_v4(), Clock::new("w"));
                let elements: Vec<Uuid> = (0..500).map(|_| Uuid::new_v4()).collect();
                for n in 0..PUSHES {
                    let c = change(&mut clock, elements[n % elements.len()], n);
                    store
                        .sync_project("u", project, client, n as i64, &[c])
                        .await
                        .unwrap();
                    pushed.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        let reader = {
            let (store, done) = (store.clone(), done.clone());
            tokio::spawn(async move {
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) {
                    store.project("u", project).await.unwrap();
                    reads += 1;
                }
                reads
            })
        };
        let (mut restarts, mut busiest) = (0, 0);
        while pushed.load(Ordering::Relaxed) < PUSHES {
            let done = store.checkpoint(RESTART_OVER).await.unwrap();
            restarts += usize::from(done.restarted);
            busiest = busiest.max(done.wal_frames);
            tokio::task::yield_now().await;
        }
        writer.await.unwrap();
        done.store(true, Ordering::Relaxed);
        assert!(reader.await.unwrap() > 0, "reads ran beside the pushes");

        let wal = std::fs::metadata(dir.path().join("iskra.db-wal"))
            .unwrap()
            .len();
        let (seq,) = sqlx::query_as::<_, (i64,)>("SELECT seq FROM projects")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(seq, PUSHES as i64, "every push committed");
        // Each push writes several pages: without restarts the WAL holds every one of them.
        assert!(
            wal < 8 * RESTART_OVER,
            "WAL of {wal} bytes after {PUSHES} pushes ({restarts} restarts)"
        );
        assert!(
            restarts > 0,
            "the WAL was restarted ({busiest} frames at most)"
        );
    }
}
