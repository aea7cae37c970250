//! The fresh databases the benchmarks run on, opened and migrated by the server's own
//! code: a SQLite file in a temporary directory, opened as the server opens its own (WAL, one
//! writer connection that writers queue for), and a new database on a PostgreSQL server, which
//! is dropped afterwards.

use anyhow::{Context, Result};
use iskra_server::store::Store;
use tempfile::TempDir;
use uuid::Uuid;

/// A migrated store and what to remove when done.
pub struct Database {
    pub store: Store,
    /// The backend as shown in the report.
    pub label: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The SQLite file's directory.
    Dir(TempDir),
    /// A database of its own on a PostgreSQL server.
    Drop(Scratch),
}

impl Database {
    /// A SQLite file `iskra.db` in a new temporary directory.
    pub async fn sqlite() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("iskra-bench-credits-")
            .tempdir()?;
        let store = Store::open_sqlite_file(&dir.path().join("iskra.db")).await?;
        store.migrate().await?;
        Ok(Self {
            store,
            label: "SQLite file",
            cleanup: Cleanup::Dir(dir),
        })
    }

    /// A new migrated database on the PostgreSQL server of `admin_url` (see [`Scratch`]).
    pub async fn postgres(admin_url: &str) -> Result<Self> {
        let scratch = Scratch::create(admin_url).await?;
        match open_migrated(&scratch.url).await {
            Ok(store) => Ok(Self {
                store,
                label: "PostgreSQL",
                cleanup: Cleanup::Drop(scratch),
            }),
            Err(e) => {
                scratch.drop().await?;
                Err(e)
            }
        }
    }

    /// Closes the store and removes the database.
    pub async fn close(self) -> Result<()> {
        self.store.close().await;
        match self.cleanup {
            Cleanup::Dir(dir) => dir.close()?,
            Cleanup::Drop(scratch) => scratch.drop().await?,
        }
        Ok(())
    }
}

/// A new empty database `iskra_bench_…` beside the one of an admin URL (a URL of an existing
/// database on a PostgreSQL server, e.g. `postgres://postgres@127.0.0.1:5432/postgres`), for a
/// store opened here or a server process pointed at [`Scratch::url`]; dropped by
/// [`Scratch::drop`].
pub struct Scratch {
    /// The new database's URL.
    pub url: String,
    admin: Store,
    name: String,
}

impl Scratch {
    /// Creates the database.
    pub async fn create(admin_url: &str) -> Result<Self> {
        let admin = Store::connect(admin_url)
            .await
            .context("connecting to the PostgreSQL server of --postgres")?;
        let name = format!("iskra_bench_{}", Uuid::new_v4().simple());
        if let Err(e) = sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(admin.pool())
            .await
        {
            admin.close().await;
            return Err(e).context("creating the bench database");
        }
        let mut url = reqwest::Url::parse(admin_url)?;
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        Ok(Self { url, admin, name })
    }

    /// Drops the database (closing any connection left to it).
    pub async fn drop(self) -> Result<()> {
        let name = &self.name;
        let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(self.admin.pool())
            .await
            .with_context(|| format!("dropping the bench database {name}"));
        self.admin.close().await;
        dropped.map(|_| ())
    }
}

/// Connects to the database at `url` and migrates it.
async fn open_migrated(url: &str) -> Result<Store> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}
