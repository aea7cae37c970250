//! The fresh databases the credit figures run on, opened and migrated by the server's own
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
    /// The database `name`, dropped through `admin` (a connection to another database).
    Drop { admin: Store, name: String },
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

    /// A new database `iskra_bench_…` on the PostgreSQL server of `admin_url` (a URL of an
    /// existing database there, e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
    pub async fn postgres(admin_url: &str) -> Result<Self> {
        let admin = Store::connect(admin_url)
            .await
            .context("connecting to the PostgreSQL server of --postgres")?;
        let name = format!("iskra_bench_{}", Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(admin.pool())
            .await
            .context("creating the bench database")?;
        match open_created(admin_url, &name).await {
            Ok(store) => Ok(Self {
                store,
                label: "PostgreSQL",
                cleanup: Cleanup::Drop { admin, name },
            }),
            Err(e) => {
                drop_database(&admin, &name).await?;
                admin.close().await;
                Err(e)
            }
        }
    }

    /// Closes the store and removes the database.
    pub async fn close(self) -> Result<()> {
        self.store.close().await;
        match self.cleanup {
            Cleanup::Dir(dir) => dir.close()?,
            Cleanup::Drop { admin, name } => {
                drop_database(&admin, &name).await?;
                admin.close().await;
            }
        }
        Ok(())
    }
}

/// Connects to the database `name` just created beside the one of `admin_url`, and migrates it.
async fn open_created(admin_url: &str, name: &str) -> Result<Store> {
    let mut url = reqwest::Url::parse(admin_url)?;
    url.set_path(&format!("/{name}"));
    let store = Store::connect(url.as_str()).await?;
    store.migrate().await?;
    Ok(store)
}

/// Drops the database `name` (closing any connection left to it).
async fn drop_database(admin: &Store, name: &str) -> Result<()> {
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(admin.pool())
        .await
        .with_context(|| format!("dropping the bench database {name}"))?;
    Ok(())
}
