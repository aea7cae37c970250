//! What the Clerk tests look at from outside the API: the rows each table holds for a user
//! (every table with a `user_id` column, found in the schema, so a new table cannot be left
//! out), the blobs under a user's storage prefix (the local directory or the S3 bucket), and
//! the deletion record.

use crate::common::{Backend, TestServer};
use futures::TryStreamExt;
use iskra_server::Config;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use sqlx::AnyPool;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The table that records deletions; it keeps the deleted id on purpose (it refuses it).
pub const DELETIONS: &str = "user_deletions";

/// The database and storage of a server, inspected directly.
pub struct Inspect {
    pub backend: Backend,
    pub pool: AnyPool,
    storage: Storage,
}

enum Storage {
    Dir(PathBuf),
    S3 {
        store: Box<dyn ObjectStore>,
        prefix: String,
    },
}

impl Inspect {
    /// Looks at the database and storage of an in-process test server.
    pub fn of(srv: &TestServer) -> Inspect {
        Inspect::with_pool(srv.backend, srv.state.store.pool().clone(), &srv.config)
    }

    /// Connects to the database and storage `cfg` names (a server in another process).
    pub async fn connect(backend: Backend, cfg: &Config) -> Inspect {
        sqlx::any::install_default_drivers();
        let url = match &cfg.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", cfg.data_dir.join("iskra.db").display()),
        };
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .expect("the server's database");
        Inspect::with_pool(backend, pool, cfg)
    }

    fn with_pool(backend: Backend, pool: AnyPool, cfg: &Config) -> Inspect {
        let storage = match cfg.storage_url.as_deref() {
            Some(url) if url.starts_with("s3://") => {
                let rest = url.trim_start_matches("s3://");
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
                let store = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_allow_http(true)
                    .with_endpoint(endpoint)
                    .with_virtual_hosted_style_request(false)
                    .build()
                    .expect("S3 client");
                Storage::S3 {
                    store: Box::new(store),
                    prefix: prefix.trim_matches('/').to_owned(),
                }
            }
            Some(url) => Storage::Dir(PathBuf::from(url.trim_start_matches("file://"))),
            None => Storage::Dir(cfg.data_dir.join("blobs")),
        };
        Inspect {
            backend,
            pool,
            storage,
        }
    }

    /// Every table with a `user_id` column, from the schema.
    pub async fn user_tables(&self) -> Vec<String> {
        let sql = match self.backend {
            Backend::Embedded => {
                "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c \
                 WHERE m.type = 'table' AND c.name = 'user_id' ORDER BY m.name"
            }
            Backend::Scaled => {
                "SELECT CAST(table_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND column_name = 'user_id' \
                 ORDER BY table_name"
            }
        };
        let rows: Vec<(String,)> = sqlx::query_as(sql)
            .fetch_all(&self.pool)
            .await
            .expect("schema");
        assert!(
            rows.len() >= 8,
            "the schema lists the per-user tables: {rows:?}"
        );
        rows.into_iter().map(|(t,)| t).collect()
    }

    /// Rows per table for `user`: `users` by id, every other table by `user_id` (the deletion
    /// record excepted).
    pub async fn rows_of(&self, user: &str) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(&self.pool)
            .await
            .expect("count users");
        out.insert("users".to_owned(), n);
        for table in self.user_tables().await {
            if table == DELETIONS {
                continue;
            }
            let (n,): (i64,) =
                sqlx::query_as(&format!("SELECT COUNT(*) FROM {table} WHERE user_id = $1"))
                    .bind(user)
                    .fetch_one(&self.pool)
                    .await
                    .unwrap_or_else(|e| panic!("count {table}: {e}"));
            out.insert(table, n);
        }
        out
    }

    /// fal's recorded webhooks among `request_ids`.
    pub async fn fal_inbox_rows(&self, request_ids: &[String]) -> usize {
        let mut n = 0;
        for id in request_ids {
            let row: Option<(String,)> =
                sqlx::query_as("SELECT request_id FROM fal_inbox WHERE request_id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .expect("fal_inbox");
            n += usize::from(row.is_some());
        }
        n
    }

    /// fal's request ids of the user's generations.
    pub async fn request_ids(&self, user: &str) -> Vec<String> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT request_id FROM generations WHERE user_id = $1 AND request_id IS NOT NULL",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .expect("generations");
        rows.into_iter().map(|(r,)| r).collect()
    }

    /// The phase of the user's deletion record, if there is one.
    pub async fn deletion_phase(&self, user: &str) -> Option<String> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT phase FROM user_deletions WHERE user_id = $1")
                .bind(user)
                .fetch_optional(&self.pool)
                .await
                .expect("user_deletions");
        row.map(|(p,)| p)
    }

    /// The keys of every blob under the user's storage prefix, sorted.
    pub async fn blobs_of(&self, user: &str) -> Vec<String> {
        let user_prefix = format!("users/{}", hex::encode(user.as_bytes()));
        let mut keys: Vec<String> = match &self.storage {
            Storage::Dir(root) => crate::common::files_under(&root.join(&user_prefix))
                .into_iter()
                .map(|p| p.strip_prefix(root).unwrap().display().to_string())
                .collect(),
            Storage::S3 { store, prefix } => {
                let full = ObjectPath::from(format!("{prefix}/{user_prefix}"));
                store
                    .list(Some(&full))
                    .map_ok(|m| m.location.to_string())
                    .try_collect()
                    .await
                    .expect("S3 listing")
            }
        };
        keys.sort();
        keys
    }
}

/// The tables that must hold rows of a user who has used every feature (the test's set-up
/// must actually have made them).
pub const FILLED: &[&str] = &[
    "users",
    "projects",
    "elements",
    "changes",
    "ops",
    "assets",
    "generations",
    "idempotency",
];

/// Tables of the credits ledger, when the schema has them (they must be filled too).
pub const CREDIT_TABLES: &[&str] = &["credit_accounts", "credit_ledger"];

/// Asserts the tables a full account fills hold rows of the user.
#[track_caller]
pub fn assert_filled(rows: &BTreeMap<String, i64>, who: &str) {
    for table in FILLED
        .iter()
        .chain(CREDIT_TABLES.iter().filter(|t| rows.contains_key(**t)))
    {
        assert!(
            rows.get(*table).copied().unwrap_or(0) > 0,
            "{who} has no rows in {table} before the deletion: {rows:?}"
        );
    }
}

/// Asserts nothing of the user is left in any table.
#[track_caller]
pub fn assert_empty(rows: &BTreeMap<String, i64>, who: &str) {
    let left: Vec<_> = rows.iter().filter(|(_, n)| **n > 0).collect();
    assert!(left.is_empty(), "rows of {who} left: {left:?}");
}
