//! The engine's SQLite store: one file per data dir, WAL mode, foreign keys on and
//! `synchronous=FULL`, so a committed transaction survives a crash or a power cut (D3, X1).
//!
//! Schema changes are the timestamped files of `migrations/desktop/`, embedded at build time by
//! `build.rs` and applied in name order inside one transaction each; applied names are tracked in
//! `schema_migrations`. The submodules hold the SQL of each table; they take a `&Connection`
//! (or a transaction, which derefs to one) so the engine composes them into one transaction.

pub mod assets;
pub mod canvas;
pub mod element_props;
pub mod generations;
pub mod outbox;
pub mod projects;
pub mod settings;
pub mod snapshots;

use crate::error::{EngineError, Result};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// How long a writer waits for another connection's write lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating if needed) the store at `path` and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens a second connection to an existing store (for background work); no migrations.
pub fn open_secondary(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    Ok(conn)
}

/// An in-memory store with the full schema, for tests.
pub fn open_in_memory() -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    configure(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Every commit waits for the disk (D3, X1); see [`write_unsynced`] for the one exception.
const SYNCHRONOUS: &str = "FULL";

/// Bytes of the database file each connection maps into memory for reading.
const MMAP_BYTES: i64 = 256 << 20;

/// Prepared statements kept per connection: every statement of the edit path stays compiled.
const STATEMENT_CACHE: usize = 64;

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // journal_mode answers with the mode in force ("memory" for in-memory databases).
    let _mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    conn.pragma_update(None, "synchronous", SYNCHRONOUS)?;
    // No automatic checkpoints: SQLite would run one inside whichever commit crosses the
    // threshold — a user's edit. The snapshot thread checkpoints instead (see `snapshot`).
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Pages read through a memory map instead of a `pread` copy each: opening a large canvas
    // reads every page of its elements (tens of MB at 100,000 elements).
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    Ok(())
}

/// Runs `f` in an immediate transaction of `conn` that commits without waiting for the disk
/// (`synchronous=NORMAL` for this commit only; the connection's FULL comes back after it, also
/// when `f` fails). Only for rows derived from others already durable — a snapshot pass's: in
/// WAL mode a later commit is never durable without every earlier one, so the next FULL commit
/// (an edit's) or a checkpoint makes these durable too, and a power cut before then loses
/// rows the journal still yields. An edit waiting for the writer then waits for the pass's
/// statements, not for its flush as well.
pub fn write_unsynced(conn: &mut Connection, f: &dyn Fn(&Connection) -> Result<()>) -> Result<()> {
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let done = write(conn, f);
    conn.pragma_update(None, "synchronous", SYNCHRONOUS)?;
    done
}

/// Runs `f` in an immediate transaction of `conn` and commits it (rolled back when `f` fails).
pub fn write(conn: &mut Connection, f: &dyn Fn(&Connection) -> Result<()>) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    f(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Applies every embedded migration not yet recorded; returns how many ran.
pub fn migrate(conn: &mut Connection) -> Result<usize> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             name TEXT PRIMARY KEY NOT NULL,
             applied_at TEXT NOT NULL
         )",
    )?;
    let mut ran = 0;
    for (name, sql) in MIGRATIONS {
        let done: Option<String> = conn
            .query_row(
                "SELECT name FROM schema_migrations WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        if done.is_some() {
            continue;
        }
        let fail = |source| EngineError::Migration {
            name: (*name).to_owned(),
            source,
        };
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(sql).map_err(fail)?;
        tx.prepare_cached("INSERT INTO schema_migrations (name, applied_at) VALUES (?1, ?2)")?
            .execute((name, now_rfc3339()))
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        ran += 1;
    }
    Ok(ran)
}

/// `PRAGMA integrity_check` result: `"ok"` when the file is sound.
pub fn integrity_check(conn: &Connection) -> Result<String> {
    Ok(conn
        .prepare_cached("PRAGMA integrity_check")?
        .query_row([], |r| r.get(0))?)
}

/// Current time as RFC 3339 UTC with milliseconds (the API's time format).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Current wall time in unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_are_tracked() {
        let mut conn = open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), 0, "second run applies nothing");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n as usize, MIGRATIONS.len());
        assert!(!MIGRATIONS.is_empty());
        let mut sorted: Vec<_> = MIGRATIONS.iter().map(|m| m.0).collect();
        sorted.sort();
        assert_eq!(sorted, MIGRATIONS.iter().map(|m| m.0).collect::<Vec<_>>());
    }

    #[test]
    fn file_store_uses_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("t.db")).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
        assert_eq!(integrity_check(&conn).unwrap(), "ok");
    }

    /// A pass's unsynced commit lands, and the connection is back at FULL after it, also when
    /// the transaction fails (then nothing of it is kept).
    #[test]
    fn an_unsynced_write_commits_and_restores_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("t.db")).unwrap();
        let sync = |conn: &Connection| -> i64 {
            conn.query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap()
        };
        write_unsynced(&mut conn, &|tx| {
            assert_eq!(sync(tx), 1, "NORMAL inside");
            tx.execute_batch("CREATE TABLE t (n INTEGER)")?;
            Ok(())
        })
        .unwrap();
        assert_eq!(sync(&conn), 2);
        let failed = write_unsynced(&mut conn, &|tx| {
            tx.execute("INSERT INTO t VALUES (1)", [])?;
            Err(EngineError::Corrupt("stop".into()))
        });
        assert!(matches!(failed, Err(EngineError::Corrupt(_))));
        assert_eq!(sync(&conn), 2, "FULL again after a failure");
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0, "the failed transaction was rolled back");
    }
}
