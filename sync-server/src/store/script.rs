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

use super::{Backend, Store};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

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
