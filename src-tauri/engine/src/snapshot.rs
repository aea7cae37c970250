//! Compacted snapshots (D3): every [`SNAPSHOT_INTERVAL`], if any canvas changed, a background
//! thread materialises each changed project's canvas into `snapshots` and prunes the journal
//! rows it covers. It has its own SQLite connection, reads in a WAL read transaction (so it
//! never blocks editing) and writes in a short transaction of its own. The last pass runs when
//! the engine is dropped, so closing the app flushes everything.

use crate::error::Result;
use crate::store::{canvas, now_rfc3339, snapshots};
use rusqlite::{Connection, TransactionBehavior};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Fixed time between snapshot passes (D3: every 10 seconds, only when something changed).
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_secs(10);

/// Writes a snapshot of every project whose journal moved since its last one; returns how
/// many were written.
pub fn write_due(conn: &mut Connection) -> Result<usize> {
    let due = snapshots::due(conn)?;
    for (project, _) in &due {
        // A deferred transaction is one consistent WAL read: canvas and position match.
        let read = conn.transaction()?;
        let seq = snapshots::journal_head(&read, *project)?;
        let canvas = canvas::canvas(&read, *project)?;
        read.commit()?;
        let write = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        snapshots::write(&write, *project, seq, &canvas, &now_rfc3339())?;
        write.commit()?;
    }
    if !due.is_empty() {
        // Moves committed WAL pages into the database off the edit path; PASSIVE never blocks
        // a writer, so an edit arriving meanwhile commits as usual.
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    }
    Ok(due.len())
}

struct Shared {
    dirty: AtomicBool,
    stop: Mutex<bool>,
    wake: Condvar,
}

/// Handle of the snapshot thread; dropping it runs a final pass and joins the thread.
pub struct SnapshotWorker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl SnapshotWorker {
    /// Starts the thread on its own connection. The first pass also compacts whatever an
    /// earlier run left in the journal.
    pub fn start(conn: Connection) -> Self {
        Self::with_interval(conn, SNAPSHOT_INTERVAL)
    }

    fn with_interval(mut conn: Connection, interval: Duration) -> Self {
        let shared = Arc::new(Shared {
            dirty: AtomicBool::new(true),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("iskra-snapshots".into())
            .spawn(move || loop {
                let stopping = {
                    let guard = s.stop.lock().unwrap_or_else(|p| p.into_inner());
                    let (guard, _) = s
                        .wake
                        .wait_timeout_while(guard, interval, |stop| !*stop)
                        .unwrap_or_else(|p| p.into_inner());
                    *guard
                };
                if s.dirty.swap(false, Ordering::AcqRel) {
                    if let Err(e) = write_due(&mut conn) {
                        tracing::warn!(error = %e, "snapshot pass failed; will retry");
                        s.dirty.store(true, Ordering::Release);
                    }
                }
                if stopping {
                    break;
                }
            })
            .ok();
        if thread.is_none() {
            tracing::warn!("could not start the snapshot thread; snapshots only on demand");
        }
        Self { shared, thread }
    }

    /// Notes that a canvas changed; the next pass will snapshot it.
    pub fn mark_dirty(&self) {
        self.shared.dirty.store(true, Ordering::Release);
    }
}

impl Drop for SnapshotWorker {
    fn drop(&mut self) {
        *self.shared.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, NewElement};
    use crate::store::{self, snapshots};

    #[test]
    fn snapshot_matches_canvas_prunes_journal_and_skips_when_unchanged() {
        let (e, _dir) = crate::engine::tests::engine();
        let p = e.create_project(None).unwrap().id;
        let (el, _) = e
            .add_element(p, &NewElement::image(None, 1.0, 2.0, 3.0, 4.0))
            .unwrap();
        e.move_element(p, el.id, 10.0, 20.0).unwrap();
        assert_eq!(e.snapshot_now().unwrap(), 1);
        assert_eq!(
            e.snapshot_now().unwrap(),
            0,
            "nothing changed, nothing written"
        );
        let snap = e.with_conn(|c| snapshots::get(c, p)).unwrap().unwrap();
        assert_eq!(snap.canvas, e.open_project(p).unwrap().canvas);
        let left = e
            .with_conn(|c| store::canvas::journal_since(c, p, 0))
            .unwrap();
        assert!(
            left.is_empty(),
            "journal rows covered by the snapshot are pruned"
        );
        e.move_element(p, el.id, 11.0, 20.0).unwrap();
        assert_eq!(e.snapshot_now().unwrap(), 1);
    }

    #[test]
    fn dropping_the_engine_flushes_a_final_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let p = {
            let e = Engine::open(dir.path()).unwrap();
            let p = e.create_project(None).unwrap().id;
            e.add_element(p, &NewElement::image(None, 0.0, 0.0, 5.0, 5.0))
                .unwrap();
            p
        };
        let conn = store::open(&dir.path().join(crate::engine::DB_FILE)).unwrap();
        let snap = snapshots::get(&conn, p)
            .unwrap()
            .expect("final snapshot written on drop");
        assert_eq!(snap.canvas.elements.len(), 1);
    }

    #[test]
    fn worker_thread_stops_promptly_with_a_long_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let _ = store::open(&path).unwrap();
        let w = SnapshotWorker::with_interval(
            store::open_secondary(&path).unwrap(),
            Duration::from_secs(3600),
        );
        w.mark_dirty();
        drop(w); // would hang for an hour if stop did not wake the thread
    }
}
