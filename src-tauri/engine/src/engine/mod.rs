//! [`Engine`]: the desktop's state without a window — projects, canvases, undo/redo, assets,
//! generations and the outbox, all on one SQLite store in a data dir. The Tauri shell and the
//! `iskra` CLI both drive this type.
//!
//! Every mutating call commits one SQLite transaction (state + journal + outbox rows) before it
//! returns: a returned `Ok` is an acknowledged, durable edit (D3, X1). Calls are serialised by
//! one mutex around the write connection; a background thread with its own connection writes
//! the 10-second snapshots ([`crate::snapshot`]) so callers never wait for them.

mod assets;
mod bundle;
mod edits;
mod element;
mod events;
mod free_generation;
mod generation_request;
mod generation_sync;
mod generations;
mod history;
mod local;
mod placing;
mod projects;
mod remote;
mod syncing;
mod thumbs;

pub use crate::zorder::z_after;
pub use bundle::{
    state_changes, BundleAsset, BundleElement, BundleManifest, BUNDLE_FORMAT, BUNDLE_VERSION,
    MANIFEST,
};
pub use edits::{Edit, EditReceipt};
pub use element::{asset_size, NewElement, UNKNOWN_SIZE};
pub use events::{ElementsNow, EngineEvent, EVENT_BUFFER};
pub use free_generation::PendingFreeGeneration;
pub use generations::Generated;
pub use local::LocalProjects;
pub use remote::RemoteApplied;
pub use thumbs::{THUMBS_DIR, THUMB_MAX};

use crate::error::{EngineError, Result};
use crate::snapshot::SnapshotWorker;
use crate::store::{self, outbox, settings};
use history::History;
use iskra_protocol::{Canvas, Clock, Hlc, Project};
use parking_lot::{Mutex, MutexGuard};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use uuid::Uuid;

/// File name of the store inside the data dir.
pub const DB_FILE: &str = "iskra.db";
/// Folder of the asset cache inside the data dir.
pub const ASSETS_DIR: &str = "assets";

/// A project opened for editing: its listing, its canvas and the undo/redo availability.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenProject {
    #[serde(flatten)]
    pub project: Project,
    pub canvas: Canvas,
    pub can_undo: bool,
    pub can_redo: bool,
}

/// The engine. Cheap to clone; all clones share one store.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    client_id: Uuid,
    /// Woken whenever the outbox gains an operation (the sync loop waits on it).
    queued: Arc<tokio::sync::Notify>,
    /// Bumped whenever the hot folder list changes; running watchers follow it.
    hot_folders_rev: AtomicU64,
    /// Whether a session is at hand, as the shell last said ([`Engine::set_signed_in`]).
    signed_in: AtomicBool,
    /// Bumped after every call that wrote to the store ([`Engine::changes`]).
    revision: tokio::sync::watch::Sender<u64>,
    /// What those writes changed ([`Engine::events`]).
    events: tokio::sync::broadcast::Sender<EngineEvent>,
    /// Shared with the snapshot thread, which writes through it ([`crate::snapshot::Writer`]).
    db: Arc<Mutex<Db>>,
    // Declared last: dropped after the write connection, it writes a final snapshot then.
    snapshots: SnapshotWorker,
}

/// What the write lock guards: the connection, the device clock and undo history.
pub(crate) struct Db {
    pub conn: Connection,
    pub clock: Clock,
    history: HashMap<Uuid, History>,
    /// Typed events of what was committed under this lock, published on release.
    events: Vec<EngineEvent>,
}

/// The snapshot thread writes with the edits' connection, under the same lock, and hands the
/// lock over fairly: an edit waiting for it goes before the pass's next transaction. (The edits
/// release it normally; parking_lot's eventual fairness still hands it to a waiting pass within
/// about a millisecond of edits back to back.)
impl crate::snapshot::Writer for Mutex<Db> {
    fn write(&self, f: &dyn Fn(&Connection) -> Result<()>) -> Result<()> {
        let mut db = self.lock();
        crate::store::write_unsynced(&mut db.conn, f)?;
        MutexGuard::unlock_fair(db);
        Ok(())
    }
}

impl Db {
    /// Records what a committed write changed (published when the lock is released; drop it
    /// with the write when the transaction rolls back — callers record after `commit`).
    pub(crate) fn record(&mut self, event: EngineEvent) {
        if !self.events.contains(&event) {
            self.events.push(event);
        }
    }
}

/// The write lock, held; when it is released after rows changed, [`Engine::changes`] ticks
/// and the recorded [`EngineEvent`]s go out (an untyped write as [`EngineEvent::Other`]).
pub(crate) struct DbGuard<'a> {
    guard: MutexGuard<'a, Db>,
    before: u64,
    revision: &'a tokio::sync::watch::Sender<u64>,
    events: &'a tokio::sync::broadcast::Sender<EngineEvent>,
}

impl std::ops::Deref for DbGuard<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.guard
    }
}

impl std::ops::DerefMut for DbGuard<'_> {
    fn deref_mut(&mut self) -> &mut Db {
        &mut self.guard
    }
}

impl Drop for DbGuard<'_> {
    fn drop(&mut self) {
        let events = std::mem::take(&mut self.guard.events);
        if self.guard.conn.total_changes() == self.before {
            return;
        }
        if events.is_empty() {
            let _ = self.events.send(EngineEvent::Other);
        }
        for e in events {
            // No receiver is not an error: nobody listens (the CLI).
            let _ = self.events.send(e);
        }
        self.revision.send_modify(|r| *r = r.wrapping_add(1));
    }
}

impl Engine {
    /// Opens (creating if needed) the engine's store in `data_dir`.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self> {
        let data_dir = data_dir.as_ref().to_path_buf();
        std::fs::create_dir_all(data_dir.join(ASSETS_DIR))
            .map_err(|e| EngineError::io(format!("creating {}", data_dir.display()), e))?;
        let db_path = data_dir.join(DB_FILE);
        let conn = store::open(&db_path)?;
        let node = settings::get_or_init(&conn, settings::NODE_ID, || {
            Uuid::new_v4().simple().to_string()[..16].to_owned()
        })?;
        let client_id =
            settings::get_or_init(&conn, settings::CLIENT_ID, || Uuid::new_v4().to_string())?;
        let client_id = Uuid::parse_str(&client_id)
            .map_err(|e| EngineError::Corrupt(format!("client id: {e}")))?;
        let mut clock = Clock::new(node);
        if let Some(last) = settings::get(&conn, settings::HLC_LAST)? {
            if let Ok(last) = last.parse::<Hlc>() {
                clock.observe(&last);
            }
        }
        let requeued = outbox::reset_in_flight(&conn)?;
        if requeued > 0 {
            tracing::info!(
                requeued,
                "outbox operations in flight at last exit are pending again"
            );
        }
        let db = Arc::new(Mutex::new(Db {
            conn,
            clock,
            history: HashMap::new(),
            events: Vec::new(),
        }));
        let snapshots =
            SnapshotWorker::start(store::open_secondary(&db_path)?, Arc::clone(&db) as _);
        let queued = Arc::new(tokio::sync::Notify::new());
        let inner = Inner {
            data_dir,
            client_id,
            queued,
            hot_folders_rev: AtomicU64::new(0),
            signed_in: AtomicBool::new(true),
            revision: tokio::sync::watch::Sender::new(0),
            events: tokio::sync::broadcast::channel(EVENT_BUFFER).0,
            db,
            snapshots,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The data dir this engine stores into.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// This device's sync `clientId`.
    pub fn client_id(&self) -> Uuid {
        self.inner.client_id
    }

    /// This device's HLC node id.
    pub fn node_id(&self) -> String {
        self.db().clock.node().to_owned()
    }

    /// Runs `f` on the write connection (for tests of this crate).
    #[cfg(test)]
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        f(&mut self.db().conn)
    }

    fn db(&self) -> DbGuard<'_> {
        // A panic while holding the lock rolled its transaction back; the state is sound (the
        // lock is not poisoned by it).
        let guard = self.inner.db.lock();
        let before = guard.conn.total_changes();
        DbGuard {
            guard,
            before,
            revision: &self.inner.revision,
            events: &self.inner.events,
        }
    }

    /// A change feed: its value goes up after every call that wrote to the store — local
    /// edits, other devices' changes merged by sync, imports, outbox and sync state, settings.
    /// Wait on `changed()` instead of polling; then read what you show.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.revision.subscribe()
    }

    /// Typed change events from now on ([`EngineEvent`]); a receiver that falls more than
    /// [`EVENT_BUFFER`] events behind gets `Lagged` and should read everything again.
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// Tells the snapshot worker that a canvas changed (and the sync loop that ops queued).
    fn changed(&self) {
        self.inner.snapshots.mark_dirty();
        self.queued();
    }

    /// Wakes the sync loop: the outbox has something new.
    fn queued(&self) {
        self.inner.queued.notify_one();
    }

    /// Notified whenever the outbox gains an operation.
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.inner.queued)
    }

    /// Revision of the hot folder list: it changes whenever a folder is added or removed, so a
    /// running [`crate::hotfolder::HotFolderWatcher`] knows to re-read the list.
    pub(crate) fn hot_folders_rev(&self) -> u64 {
        self.inner.hot_folders_rev.load(Ordering::SeqCst)
    }

    /// Tells running hot folder watchers that the list changed.
    pub(crate) fn hot_folders_changed(&self) {
        self.inner.hot_folders_rev.fetch_add(1, Ordering::SeqCst);
    }

    /// Writes the due snapshots now, on the caller's thread (tests, shutdown paths).
    pub fn snapshot_now(&self) -> Result<usize> {
        crate::snapshot::write_due(&mut self.db().conn, None)
    }

    /// Asks the snapshot thread for a pass now, off the caller's path: edits go on while it
    /// runs, and the request tells when it ended and how long it took.
    pub fn request_snapshot(&self) -> crate::snapshot::SnapshotRequest {
        self.inner.snapshots.request()
    }

    /// Reads a device setting (see [`crate::store::settings`] for the keys).
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        settings::get(&self.db().conn, key)
    }

    /// Writes a device setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        settings::set(&self.db().conn, key, value)
    }

    /// Removes a device setting.
    pub fn remove_setting(&self, key: &str) -> Result<()> {
        settings::remove(&self.db().conn, key)
    }

    /// Writes several settings at once (readers see all of them or none); `None` removes one.
    /// Only those whose value differs are written.
    pub fn set_settings(&self, pairs: &[(&str, Option<&str>)]) -> Result<()> {
        let mut db = self.db();
        let tx = db
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (key, value) in pairs {
            if settings::get(&tx, key)?.as_deref() == *value {
                continue;
            }
            match value {
                Some(v) => settings::set(&tx, key, v)?,
                None => settings::remove(&tx, key)?,
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every outbox operation, oldest first.
    pub fn outbox(&self) -> Result<Vec<outbox::OutboxOp>> {
        outbox::list(&self.db().conn)
    }

    /// Counts of (pending, rejected) outbox operations.
    pub fn outbox_counts(&self) -> Result<(u64, u64)> {
        outbox::counts(&self.db().conn)
    }

    /// Sends an operation again at the next flush (a refused generation request waits again).
    pub fn outbox_retry(&self, op_id: Uuid) -> Result<()> {
        use crate::generation::GenerationState::{Failed, Waiting};
        let mut db = self.db();
        let tx = db
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        outbox::retry(&tx, op_id)?;
        store::generations::set_status_by_op(&tx, op_id, Failed, Waiting, None)?;
        tx.commit()?;
        drop(db);
        self.queued();
        Ok(())
    }

    /// Drops a rejected operation for good.
    pub fn outbox_discard(&self, op_id: Uuid) -> Result<()> {
        outbox::discard(&self.db().conn, op_id)
    }

    /// `PRAGMA integrity_check` of the store.
    pub fn integrity_check(&self) -> Result<String> {
        store::integrity_check(&self.db().conn)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The write side of an engine's store at `path`, without the engine.
    pub(crate) fn db(path: &Path) -> Db {
        Db {
            conn: store::open(path).unwrap(),
            clock: Clock::new("test".to_owned()),
            history: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// An engine in a fresh temp dir (kept alive by the returned guard).
    pub(crate) fn engine() -> (Engine, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Engine::open(dir.path()).unwrap(), dir)
    }

    #[test]
    fn ids_persist_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (node, client) = {
            let e = Engine::open(dir.path()).unwrap();
            (e.node_id(), e.client_id())
        };
        let e = Engine::open(dir.path()).unwrap();
        assert_eq!((e.node_id(), e.client_id()), (node, client));
        assert_eq!(e.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn the_change_feed_ticks_on_writes_only() {
        let (e, _dir) = engine();
        let mut changes = e.changes();
        let start = *changes.borrow_and_update();
        e.list_projects().unwrap();
        assert!(!changes.has_changed().unwrap(), "a read is not a change");
        let p = e.create_project(None).unwrap();
        assert!(changes.has_changed().unwrap());
        let after_create = *changes.borrow_and_update();
        assert!(after_create > start);
        e.open_project(p.id).unwrap();
        assert!(!changes.has_changed().unwrap(), "opening is not a change");
        e.rename_project(p.id, "Renamed").unwrap();
        assert!(*changes.borrow_and_update() > after_create);
    }
}
