//! Statements that run together inside one transaction: on SQLite as ONE multi-statement
//! query, on PostgreSQL one after another.
//!
//! sqlx runs a SQLite connection on a worker thread of its own, so every statement is a round
//! trip between that thread and the runtime's; when the server is otherwise idle each one pays
//! two thread wake-ups, which were most of a one-change push's latency. SQLite takes several
//! statements in one query and binds anonymous `?` placeholders across them in order, so a
//! script costs one round trip there. PostgreSQL takes one statement with parameters per
//! round trip, so there the statements go one by one, in the same order, with the same SQL.
//!
//! Placeholders come from [`Store::params`] numbered from 1 in each statement: `?` on SQLite
//! (bound in order across the whole script), `$n` on PostgreSQL (per statement).
//!
//! A [`WriteTx`] runs scripts in one write transaction. On SQLite its `BEGIN IMMEDIATE` rides
//! with the first script and its `COMMIT` with the last, so a push of two scripts is two round
//! trips to the writer's thread instead of four — on the single writer every push waits for,
//! each round trip saved is saved for the whole queue.

use super::{Backend, Store};
use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Executor, Transaction};

/// A bound value.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
    /// A text value that may be NULL.
    OptText(Option<String>),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

impl From<Option<String>> for Arg {
    fn from(s: Option<String>) -> Self {
        Arg::OptText(s)
    }
}

/// Statements with their parameters, in the order they run.
pub struct Script {
    backend: Backend,
    statements: Vec<(String, Vec<Arg>)>,
}

impl Script {
    pub fn new(store: &Store) -> Self {
        Self {
            backend: store.backend(),
            statements: Vec::new(),
        }
    }

    /// Appends a statement whose placeholders (numbered from 1 by [`Store::params`]) take
    /// `args` in order.
    pub fn push(&mut self, sql: String, args: Vec<Arg>) {
        self.statements.push((sql, args));
    }

    /// Runs every statement on `conn` (a transaction's connection) and returns the rows they
    /// produced, in order.
    pub async fn rows(self, conn: &mut AnyConnection) -> Result<Vec<AnyRow>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let sql = self
                    .statements
                    .iter()
                    .map(|(sql, _)| sql.as_str())
                    .collect::<Vec<_>>()
                    .join(";\n");
                let args = self.statements.into_iter().flat_map(|(_, args)| args);
                bind(sqlx::query(&sql), args).fetch_all(conn).await
            }
            Backend::Postgres => {
                let mut rows = Vec::new();
                for (sql, args) in self.statements {
                    rows.extend(bind(sqlx::query(&sql), args).fetch_all(&mut *conn).await?);
                }
                Ok(rows)
            }
        }
    }
}

/// A write transaction run as [`Script`]s: [`WriteTx::run`] for the scripts whose rows decide
/// what comes next, [`WriteTx::commit`] with the last one, [`WriteTx::rollback`] to leave it.
///
/// On PostgreSQL it is sqlx's transaction. On SQLite it is the writer connection with the
/// transaction opened and closed by statements of the scripts themselves, which sqlx does not
/// see: a failed script is rolled back here, and a transaction dropped while open (its request
/// went away mid-push) closes its connection, which ends the transaction in SQLite — never
/// is the connection handed back to the pool inside one.
pub struct WriteTx {
    inner: Inner,
}

enum Inner {
    Postgres(Transaction<'static, Any>),
    Sqlite(SqliteTx),
}

/// The SQLite writer connection with the transaction its scripts opened.
struct SqliteTx {
    conn: PoolConnection<Any>,
    /// `BEGIN IMMEDIATE` was sent and neither `COMMIT` nor `ROLLBACK` has finished.
    open: bool,
}

impl WriteTx {
    /// Takes the writer; on SQLite the transaction begins with the first script.
    pub async fn begin(store: &Store) -> Result<Self, sqlx::Error> {
        let inner = match store.backend() {
            Backend::Postgres => Inner::Postgres(store.writer().begin().await?),
            Backend::Sqlite => Inner::Sqlite(SqliteTx {
                conn: store.writer().acquire().await?,
                open: false,
            }),
        };
        Ok(Self { inner })
    }

    /// Runs `script` inside the transaction and returns its rows.
    pub async fn run(&mut self, script: Script) -> Result<Vec<AnyRow>, sqlx::Error> {
        match &mut self.inner {
            Inner::Postgres(tx) => script.rows(tx).await,
            Inner::Sqlite(tx) => tx.send(script, false).await,
        }
    }

    /// Runs `script` and commits; its rows are returned once the commit is done.
    pub async fn commit(self, script: Script) -> Result<Vec<AnyRow>, sqlx::Error> {
        match self.inner {
            Inner::Postgres(mut tx) => {
                let rows = script.rows(&mut tx).await?;
                tx.commit().await?;
                Ok(rows)
            }
            Inner::Sqlite(mut tx) => tx.send(script, true).await,
        }
    }

    /// Leaves the transaction without writing anything.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.inner {
            Inner::Postgres(tx) => tx.rollback().await,
            Inner::Sqlite(mut tx) if tx.open => {
                tx.conn.execute("ROLLBACK").await?;
                tx.open = false;
                Ok(())
            }
            Inner::Sqlite(_) => Ok(()),
        }
    }
}

impl SqliteTx {
    /// Runs `script`, opening the transaction with it when this is the first, committing it
    /// with it when `last`.
    async fn send(&mut self, mut script: Script, last: bool) -> Result<Vec<AnyRow>, sqlx::Error> {
        if !self.open {
            script
                .statements
                .insert(0, ("BEGIN IMMEDIATE".to_owned(), Vec::new()));
            self.open = true;
        }
        if last {
            script.statements.push(("COMMIT".to_owned(), Vec::new()));
        }
        match script.rows(&mut self.conn).await {
            Ok(rows) => {
                self.open = !last;
                Ok(rows)
            }
            Err(e) => {
                // The script stopped at its failing statement: end what it began. A ROLLBACK
                // that fails too (SQLite ended the transaction itself, or the connection is
                // gone) leaves the connection to be closed on drop.
                if self.conn.execute("ROLLBACK").await.is_ok() {
                    self.open = false;
                }
                Err(e)
            }
        }
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind<'q>(mut q: AnyQuery<'q>, args: impl IntoIterator<Item = Arg>) -> AnyQuery<'q> {
    for arg in args {
        q = match arg {
            Arg::Text(s) => q.bind(s),
            Arg::Int(n) => q.bind(n),
            Arg::OptText(s) => q.bind(s),
        };
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    /// Statements see each other's effects and parameters land in order across them.
    #[tokio::test]
    async fn statements_run_in_order_with_their_own_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_file(&dir.path().join("s.db"))
            .await
            .unwrap();
        let mut conn = store.writer().acquire().await.unwrap();
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT)")
            .execute(&mut *conn)
            .await
            .unwrap();
        let p = |n| store.params(0, n);
        let mut script = Script::new(&store);
        let q = p(2);
        script.push(
            format!("INSERT INTO t (k, n) VALUES ({}, {})", q[0], q[1]),
            vec!["a".into(), 1.into()],
        );
        let q = p(1);
        script.push(
            format!("UPDATE t SET n = n + {} RETURNING k, n", q[0]),
            vec![41.into()],
        );
        let q = p(1);
        script.push(
            format!("SELECT k, n FROM t WHERE k <> {}", q[0]),
            vec!["b".into()],
        );
        let rows = script.rows(&mut conn).await.unwrap();
        let got: Vec<(String, i64)> = rows
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
            .collect();
        assert_eq!(got, [("a".to_owned(), 42), ("a".to_owned(), 42)]);
    }
}

#[cfg(test)]
mod write_tx_tests {
    use super::*;
    use std::path::Path;

    /// A SQLite store with the table `t (k, n)`.
    async fn store_with_table(dir: &Path) -> Store {
        let store = Store::open_sqlite_file(&dir.join("s.db")).await.unwrap();
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT)")
            .execute(store.writer())
            .await
            .unwrap();
        store
    }

    /// A script inserting the row `k` for each of `keys`.
    fn insert(store: &Store, keys: &[&str]) -> Script {
        let mut script = Script::new(store);
        for k in keys {
            let p = store.params(0, 2);
            script.push(
                format!("INSERT INTO t (k, n) VALUES ({}, {})", p[0], p[1]),
                vec![(*k).into(), 1.into()],
            );
        }
        script
    }

    /// The keys in `t`, read by another connection than the writer's.
    async fn keys(store: &Store) -> Vec<String> {
        sqlx::query_as::<_, (String,)>("SELECT k FROM t ORDER BY k")
            .fetch_all(store.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|(k,)| k)
            .collect()
    }

    /// Every script of a committed transaction lands; a failing script takes the earlier ones
    /// with it, as does a rollback; and the writer is ready for the next transaction each time.
    #[tokio::test]
    async fn a_write_transaction_commits_all_its_scripts_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_table(dir.path()).await;

        let mut tx = WriteTx::begin(&store).await.unwrap();
        tx.run(insert(&store, &["a"])).await.unwrap();
        assert!(keys(&store).await.is_empty(), "not visible before COMMIT");
        tx.commit(insert(&store, &["b"])).await.unwrap();
        assert_eq!(keys(&store).await, ["a", "b"]);

        let mut tx = WriteTx::begin(&store).await.unwrap();
        tx.run(insert(&store, &["c"])).await.unwrap();
        let failed = tx.commit(insert(&store, &["d", "a"])).await;
        assert!(failed.is_err(), "a repeated key fails the script");
        assert_eq!(keys(&store).await, ["a", "b"], "c and d rolled back");

        let mut tx = WriteTx::begin(&store).await.unwrap();
        tx.run(insert(&store, &["e"])).await.unwrap();
        tx.rollback().await.unwrap();
        WriteTx::begin(&store)
            .await
            .unwrap()
            .commit(insert(&store, &["f"]))
            .await
            .unwrap();
        assert_eq!(keys(&store).await, ["a", "b", "f"]);
    }

    /// A transaction dropped while open (its request went away mid-push) writes nothing and
    /// never hands the pool a connection inside a transaction: the next one begins and commits.
    #[tokio::test]
    async fn a_write_transaction_dropped_open_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_table(dir.path()).await;

        let mut tx = WriteTx::begin(&store).await.unwrap();
        tx.run(insert(&store, &["a"])).await.unwrap();
        drop(tx);
        WriteTx::begin(&store)
            .await
            .unwrap()
            .commit(insert(&store, &["b"]))
            .await
            .unwrap();
        assert_eq!(keys(&store).await, ["b"]);
    }
}
