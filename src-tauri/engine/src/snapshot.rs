//! Compacted snapshots (D3): every [`SNAPSHOT_INTERVAL`], if any canvas changed, a background
//! thread brings each changed project's materialised canvas in `snapshots` up to date and
//! prunes the journal rows it covers. It has its own SQLite connection, reads in a WAL read
//! transaction (so it never blocks editing) and writes in a short transaction of its own: only
//! the elements the compacted journal rows name are rewritten ([`snapshots::delta`]), so a pass
//! costs what changed, not the canvas size. The last pass runs when the engine is dropped, so
//! closing the app flushes everything. [`SnapshotWorker::request`] asks for a pass at once.

use crate::error::{EngineError, Result};
use crate::store::{now_rfc3339, snapshots};
use rusqlite::Connection;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Fixed time between snapshot passes (D3: every 10 seconds, only when something changed).
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_secs(10);

/// The store's writer, shared with the edits: a pass's short write transactions queue behind
/// the edit holding it (and an edit behind the pass) instead of polling SQLite's lock, which
/// back-to-back edits would hold almost all the time.
pub trait Writer: Send + Sync {
    /// Runs `f` in an immediate transaction of the writer and commits it without waiting for
    /// the disk ([`crate::store::write_unsynced`]: snapshot rows are derived from the journal,
    /// and the edit after them flushes them); then hands the writer to whoever waits for it
    /// (an edit), so the pass's next transaction queues behind that edit instead of taking the
    /// writer straight back.
    fn write(&self, f: &dyn Fn(&Connection) -> Result<()>) -> Result<()>;
}

/// Snapshot rows (or pruned journal rows) per write transaction. The edits wait for the
/// store's writer while a pass writes, so a pass writes in transactions this small — a few
/// hundred microseconds each at 100,000 elements, with no flush of their own ([`Writer`]) —
/// however much changed since the last one. (While each commit flushed, the flush was most of
/// it and fewer rows did not help; without it, 32 rows halved the edits' wait of 128.)
pub const ROWS_PER_WRITE: usize = 32;

/// Writes a snapshot of every project whose journal moved since its last one, reading with
/// `conn` and writing through `writer` (`None`: with `conn`, whose caller holds the writer);
/// returns how many were written.
///
/// A project's snapshot is written in short transactions: its elements [`ROWS_PER_WRITE`] at
/// a time, then its position and viewport, then the journal rows it covers pruned as many at
/// a time. A pass interrupted between them leaves a snapshot the next pass completes (see
/// [`snapshots::write_elements`]).
pub fn write_due(conn: &mut Connection, writer: Option<&dyn Writer>) -> Result<usize> {
    let due = snapshots::due(conn)?;
    for (project, _) in &due {
        // A deferred transaction is one consistent WAL read: elements and position match.
        let read = conn.transaction()?;
        let seq = snapshots::journal_head(&read, *project)?;
        let delta = snapshots::delta(&read, *project, seq)?;
        read.commit()?;
        for rows in delta.elements.chunks(ROWS_PER_WRITE) {
            write_with(conn, writer, &|tx| {
                snapshots::write_elements(tx, *project, rows)
            })?;
        }
        let now = now_rfc3339();
        write_with(conn, writer, &|tx| {
            snapshots::write_head(tx, *project, &delta, &now)
        })?;
        let pruned = Cell::new(ROWS_PER_WRITE);
        while pruned.get() == ROWS_PER_WRITE {
            write_with(conn, writer, &|tx| {
                pruned.set(snapshots::prune_journal(tx, *project, seq, ROWS_PER_WRITE)?);
                Ok(())
            })?;
        }
    }
    if !due.is_empty() {
        // Moves committed WAL pages into the database off the edit path; PASSIVE never blocks
        // a writer, so an edit arriving meanwhile commits as usual.
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    }
    Ok(due.len())
}

/// Runs `f` in one write transaction: through `writer`, or on `conn` when its caller holds
/// the writer.
fn write_with(
    conn: &mut Connection,
    writer: Option<&dyn Writer>,
    f: &dyn Fn(&Connection) -> Result<()>,
) -> Result<()> {
    match writer {
        Some(writer) => writer.write(f),
        None => crate::store::write(conn, f),
    }
}

/// What one pass of the snapshot thread did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotPass {
    /// Projects whose snapshot the pass wrote (0 when nothing had changed).
    pub written: usize,
    /// How long the pass took on the snapshot thread.
    pub elapsed: Duration,
}

/// The outcome of a pass, shared by every request it answered.
pub type PassOutcome = std::result::Result<SnapshotPass, Arc<EngineError>>;

/// A pass asked of the snapshot thread ([`crate::Engine::request_snapshot`]); the caller goes
/// on (editing, say) and reads the outcome once the pass has ended.
pub struct SnapshotRequest {
    outcome: mpsc::Receiver<PassOutcome>,
}

impl SnapshotRequest {
    /// The outcome once the pass has ended; `None` while it runs.
    pub fn try_outcome(&self) -> Option<PassOutcome> {
        match self.outcome.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(Err(no_thread())),
        }
    }

    /// Waits for the pass to end.
    pub fn wait(self) -> PassOutcome {
        self.outcome.recv().unwrap_or_else(|_| Err(no_thread()))
    }
}

/// The error of a request that no thread will answer.
fn no_thread() -> Arc<EngineError> {
    Arc::new(EngineError::io(
        "asking the snapshot thread for a pass",
        std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "the snapshot thread is not running",
        ),
    ))
}

/// What the caller side tells the thread: stop, or run a pass now for these requests.
#[derive(Default)]
struct Control {
    stop: bool,
    requests: Vec<mpsc::Sender<PassOutcome>>,
}

struct Shared {
    dirty: AtomicBool,
    control: Mutex<Control>,
    wake: Condvar,
}

impl Shared {
    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Handle of the snapshot thread; dropping it runs a final pass and joins the thread.
pub struct SnapshotWorker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// The thread's loop: a pass every `interval` when a canvas changed, and one at once when
/// asked; a last one when stopped.
fn run(mut conn: Connection, writer: &dyn Writer, shared: &Shared, interval: Duration) {
    loop {
        let (stopping, requests) = {
            let control = shared.control();
            let (mut control, _) = shared
                .wake
                .wait_timeout_while(control, interval, |c| !c.stop && c.requests.is_empty())
                .unwrap_or_else(|p| p.into_inner());
            (control.stop, std::mem::take(&mut control.requests))
        };
        let dirty = shared.dirty.swap(false, Ordering::AcqRel);
        if dirty || !requests.is_empty() {
            let started = Instant::now();
            let outcome = write_due(&mut conn, Some(writer))
                .map(|written| SnapshotPass {
                    written,
                    elapsed: started.elapsed(),
                })
                .map_err(Arc::new);
            if let Err(e) = &outcome {
                tracing::warn!(error = %e, "snapshot pass failed; will retry");
                shared.dirty.store(true, Ordering::Release);
            }
            for request in requests {
                // A requester that stopped waiting is not an error.
                let _ = request.send(outcome.clone());
            }
        }
        if stopping {
            break;
        }
    }
}

impl SnapshotWorker {
    /// Starts the thread on its own connection (for reading), writing through `writer`. The
    /// first pass also compacts whatever an earlier run left in the journal.
    pub fn start(conn: Connection, writer: Arc<dyn Writer>) -> Self {
        Self::with_interval(conn, writer, SNAPSHOT_INTERVAL)
    }

    fn with_interval(conn: Connection, writer: Arc<dyn Writer>, interval: Duration) -> Self {
        let shared = Arc::new(Shared {
            dirty: AtomicBool::new(true),
            control: Mutex::new(Control::default()),
            wake: Condvar::new(),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("iskra-snapshots".into())
            .spawn(move || run(conn, &*writer, &s, interval))
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

    /// Asks the thread for a pass now (one already running answers only the requests made
    /// before it started).
    pub fn request(&self) -> SnapshotRequest {
        let (tx, rx) = mpsc::channel();
        if self.thread.is_some() {
            self.shared.control().requests.push(tx);
            self.shared.wake.notify_all();
        }
        SnapshotRequest { outcome: rx }
    }
}

impl Drop for SnapshotWorker {
    fn drop(&mut self) {
        self.shared.control().stop = true;
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
    fn a_requested_pass_runs_on_the_thread_while_edits_go_on() {
        let (e, _dir) = crate::engine::tests::engine();
        let p = e.create_project(None).unwrap().id;
        let (el, _) = e
            .add_element(p, &NewElement::image(None, 1.0, 2.0, 3.0, 4.0))
            .unwrap();
        let request = e.request_snapshot();
        let mut moved = 0.0;
        let pass = loop {
            if let Some(outcome) = request.try_outcome() {
                break outcome.unwrap();
            }
            moved += 1.0;
            e.move_element(p, el.id, moved, 0.0).unwrap();
        };
        assert_eq!(pass.written, 1, "the changed project was snapshotted");
        let snap = e.with_conn(|c| snapshots::get(c, p)).unwrap().unwrap();
        assert!(
            snap.canvas.elements[0].x <= moved,
            "a state the canvas went through"
        );
        // Nothing changed since the last pass: the next one writes nothing, and still answers.
        e.snapshot_now().unwrap();
        assert_eq!(e.request_snapshot().wait().unwrap().written, 0);
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

    /// A writer on its own connection to the store that counts its transactions and fails
    /// from the `fail_at`-th on (a pass interrupted there, as by a crash).
    struct CountingWriter {
        db: parking_lot::Mutex<crate::engine::Db>,
        writes: std::sync::atomic::AtomicUsize,
        fail_at: usize,
    }

    impl CountingWriter {
        fn new(path: &std::path::Path, fail_at: usize) -> Self {
            Self {
                db: parking_lot::Mutex::new(crate::engine::tests::db(path)),
                writes: Default::default(),
                fail_at,
            }
        }
    }

    impl Writer for CountingWriter {
        fn write(&self, f: &dyn Fn(&Connection) -> Result<()>) -> Result<()> {
            if self.writes.fetch_add(1, Ordering::SeqCst) + 1 >= self.fail_at {
                return Err(crate::error::EngineError::Corrupt("interrupted".into()));
            }
            self.db.write(f)
        }
    }

    /// A project with `n` elements whose snapshot is due, and the store's path.
    fn due_project(n: usize) -> (Engine, tempfile::TempDir, uuid::Uuid, std::path::PathBuf) {
        let (e, dir) = crate::engine::tests::engine();
        let p = e.create_project(None).unwrap().id;
        for i in 0..n {
            let x = i as f64;
            e.add_element(p, &NewElement::image(None, x, 0.0, 3.0, 4.0))
                .unwrap();
        }
        let path = dir.path().join(crate::engine::DB_FILE);
        (e, dir, p, path)
    }

    #[test]
    fn a_large_pass_writes_in_short_transactions() {
        let (e, _dir, p, path) = due_project(300);
        let journal = e
            .with_conn(|c| store::canvas::journal_since(c, p, 0))
            .unwrap()
            .len();
        let writer = CountingWriter::new(&path, usize::MAX);
        let written = write_due(&mut store::open_secondary(&path).unwrap(), Some(&writer)).unwrap();
        assert_eq!(written, 1);
        // 300 elements in rows of ROWS_PER_WRITE, the position, then the journal pruned as
        // many rows at a time (a last, short or empty, delete ends it).
        let expected = 300usize.div_ceil(ROWS_PER_WRITE) + 1 + journal / ROWS_PER_WRITE + 1;
        assert_eq!(writer.writes.load(Ordering::SeqCst), expected);
        let snap = e.with_conn(|c| snapshots::get(c, p)).unwrap().unwrap();
        assert_eq!(snap.canvas, e.open_project(p).unwrap().canvas);
        let left = e
            .with_conn(|c| store::canvas::journal_since(c, p, 0))
            .unwrap();
        assert!(left.is_empty(), "every covered journal row is pruned");
    }

    #[test]
    fn a_pass_interrupted_halfway_is_completed_by_the_next() {
        let (e, _dir, p, path) = due_project(300);
        let mut conn = store::open_secondary(&path).unwrap();
        // Interrupted after the first rows of elements: some rows newer than the position.
        let broken = CountingWriter::new(&path, 2);
        assert!(write_due(&mut conn, Some(&broken)).is_err());
        let (rows, position) = e
            .with_conn(|c| {
                let rows: i64 = c.query_row(
                    "SELECT count(*) FROM snapshot_elements WHERE project_id = ?1",
                    [p.to_string()],
                    |r| r.get(0),
                )?;
                Ok((rows, snapshots::snapshot_seq(c, p)?))
            })
            .unwrap();
        assert_eq!(rows, ROWS_PER_WRITE as i64, "the first rows were written");
        assert_eq!(position, 0, "the position was not");
        // The canvas moves on meanwhile; the next pass catches up with all of it.
        let first = e.open_project(p).unwrap().canvas.elements[0].id;
        e.move_element(p, first, -50.0, -60.0).unwrap();
        let writer = CountingWriter::new(&path, usize::MAX);
        assert_eq!(write_due(&mut conn, Some(&writer)).unwrap(), 1);
        let snap = e.with_conn(|c| snapshots::get(c, p)).unwrap().unwrap();
        assert_eq!(snap.canvas, e.open_project(p).unwrap().canvas);
        assert!(e
            .with_conn(|c| store::canvas::journal_since(c, p, 0))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn worker_thread_stops_promptly_with_a_long_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let _ = store::open(&path).unwrap();
        let writer: Arc<dyn Writer> =
            Arc::new(parking_lot::Mutex::new(crate::engine::tests::db(&path)));
        let w = SnapshotWorker::with_interval(
            store::open_secondary(&path).unwrap(),
            writer,
            Duration::from_secs(3600),
        );
        w.mark_dirty();
        drop(w); // would hang for an hour if stop did not wake the thread
    }
}
