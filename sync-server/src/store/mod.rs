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
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                         PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; \
                         PRAGMA wal_autocheckpoint=0;",
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

    /// Copies committed WAL pages into the database (SQLite only; a no-op on PostgreSQL).
    /// Automatic checkpoints are off, because SQLite would run them inside whichever commit
    /// crosses the threshold — a client's push; [`crate::maintenance`] calls this instead.
    /// PASSIVE never blocks the writer.
    pub async fn checkpoint(&self) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_all(&self.pool)
                .await?;
        }
        Ok(())
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
