//! Hot folders (D8): folders the user chose (kept in the device settings) are watched with
//! `notify`; a new image or video there is imported into the asset library once it stops
//! growing — its size and modification time unchanged across two checks [`SETTLE_INTERVAL`]
//! apart — so a file still being copied is never imported half-written. Imports are
//! deduplicated by content hash (the asset cache's key); other files are ignored with a log
//! line. A watcher thread owns the pending files and stops when [`HotFolderWatcher`] drops.
//! A folder added or removed while a watcher runs (the desktop's settings) is followed within
//! one [`SETTLE_INTERVAL`]: the engine bumps a revision the thread checks on every turn.

use crate::error::{EngineError, Result};
use crate::store::settings;
use crate::{media, Engine};
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

/// Time between two size checks of a pending file; two equal checks mean it is complete.
pub const SETTLE_INTERVAL: Duration = Duration::from_millis(500);

impl Engine {
    /// The watched folders.
    pub fn hot_folders(&self) -> Result<Vec<PathBuf>> {
        match self.setting(settings::HOT_FOLDERS)? {
            Some(json) => Ok(serde_json::from_str(&json)?),
            None => Ok(Vec::new()),
        }
    }

    /// Adds a folder to watch (stored canonical); false when it was already watched.
    pub fn add_hot_folder(&self, folder: &Path) -> Result<bool> {
        let dir = folder
            .canonicalize()
            .map_err(|e| EngineError::io(format!("hot folder {}", folder.display()), e))?;
        if !dir.is_dir() {
            return Err(EngineError::Invalid(format!(
                "{} is not a folder",
                dir.display()
            )));
        }
        let mut all = self.hot_folders()?;
        if all.contains(&dir) {
            return Ok(false);
        }
        all.push(dir);
        self.set_setting(settings::HOT_FOLDERS, &serde_json::to_string(&all)?)?;
        self.hot_folders_changed();
        Ok(true)
    }

    /// Stops watching a folder; false when it was not watched.
    pub fn remove_hot_folder(&self, folder: &Path) -> Result<bool> {
        let canonical = folder
            .canonicalize()
            .unwrap_or_else(|_| folder.to_path_buf());
        let mut all = self.hot_folders()?;
        let before = all.len();
        all.retain(|d| d != &canonical && d != folder);
        if all.len() == before {
            return Ok(false);
        }
        self.set_setting(settings::HOT_FOLDERS, &serde_json::to_string(&all)?)?;
        self.hot_folders_changed();
        Ok(true)
    }
}

/// What the size check last saw of a pending file.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    len: u64,
    modified: Option<SystemTime>,
}

fn seen(path: &Path) -> Option<Seen> {
    let m = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    Some(Seen {
        len: m.len(),
        modified: m.modified().ok(),
    })
}

/// Counts of what the watcher did, for status lines and tests.
#[derive(Debug, Default)]
pub struct HotFolderStats {
    /// Files that settled and were looked at (imported, duplicate, ignored or failed).
    pub handled: AtomicU64,
    /// Files imported as new assets.
    pub imported: AtomicU64,
}

/// The `notify` watcher and the folders it watches now.
struct Watches {
    watcher: notify::RecommendedWatcher,
    folders: HashSet<PathBuf>,
}

impl Watches {
    /// Watches exactly `wanted`: stops watching folders no longer in it, starts the new ones.
    /// A folder that cannot be watched (gone, no permission) is logged and tried again at the
    /// next change of the list.
    fn follow(&mut self, wanted: &[PathBuf]) {
        let gone: Vec<PathBuf> = self
            .folders
            .iter()
            .filter(|d| !wanted.contains(d))
            .cloned()
            .collect();
        for dir in gone {
            self.folders.remove(&dir);
            match self.watcher.unwatch(&dir) {
                Ok(()) => tracing::info!(folder = %dir.display(), "no longer watching hot folder"),
                Err(e) => tracing::debug!(folder = %dir.display(), error = %e, "unwatch"),
            }
        }
        for dir in wanted {
            if self.folders.contains(dir) {
                continue;
            }
            match self.watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    tracing::info!(folder = %dir.display(), "watching hot folder");
                    self.folders.insert(dir.clone());
                }
                Err(e) => tracing::warn!(folder = %dir.display(), error = %e, "cannot watch"),
            }
        }
    }
}

/// Watches the engine's hot folders until dropped, following changes to the list.
pub struct HotFolderWatcher {
    stats: Arc<HotFolderStats>,
    // The only strong handle: dropping it drops the `notify` watcher, which closes the
    // channel, which ends the thread (the thread holds a weak one to follow the list).
    watches: Arc<Mutex<Watches>>,
}

impl HotFolderWatcher {
    /// Starts watching every folder in the engine's settings (none is fine: it idles), and
    /// any folder added later through [`Engine::add_hot_folder`] on this engine.
    pub fn start(engine: Engine) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<PathBuf>();
        let watcher =
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
                Ok(ev) if matches!(ev.kind, EventKind::Create(_) | EventKind::Modify(_)) => {
                    for p in ev.paths {
                        let _ = tx.send(p);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "hot folder watch error"),
            })
            .map_err(|e| EngineError::Invalid(format!("cannot watch folders: {e}")))?;
        let mut watches = Watches {
            watcher,
            folders: HashSet::new(),
        };
        // Read before the list, so a change made meanwhile is seen by the thread.
        let rev = engine.hot_folders_rev();
        watches.follow(&engine.hot_folders()?);
        let watches = Arc::new(Mutex::new(watches));
        let stats = Arc::new(HotFolderStats::default());
        let worker = Worker {
            engine,
            stats: Arc::clone(&stats),
            watches: Arc::downgrade(&watches),
            rev,
        };
        std::thread::Builder::new()
            .name("iskra-hot-folders".into())
            .spawn(move || worker.run(&rx))
            .map_err(|e| EngineError::io("starting the hot folder thread", e))?;
        Ok(Self { stats, watches })
    }

    /// What the watcher did so far.
    pub fn stats(&self) -> &HotFolderStats {
        &self.stats
    }

    /// The folders watched now (a folder just added shows up within a [`SETTLE_INTERVAL`]).
    pub fn watching(&self) -> Vec<PathBuf> {
        let w = self.watches.lock().unwrap_or_else(|p| p.into_inner());
        let mut list: Vec<PathBuf> = w.folders.iter().cloned().collect();
        list.sort();
        list
    }
}

/// What the watcher thread owns.
struct Worker {
    engine: Engine,
    stats: Arc<HotFolderStats>,
    watches: Weak<Mutex<Watches>>,
    /// The hot folder list revision the watches follow.
    rev: u64,
}

impl Worker {
    /// Collects changed paths and imports each once it has settled; follows the folder list.
    fn run(mut self, rx: &mpsc::Receiver<PathBuf>) {
        let mut pending: HashMap<PathBuf, Option<Seen>> = HashMap::new();
        loop {
            self.follow_list();
            match rx.recv_timeout(SETTLE_INTERVAL) {
                Ok(path) => {
                    let hidden = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_none_or(|n| n.starts_with('.'));
                    if !hidden {
                        // A new event restarts the wait: the file is still changing.
                        pending.insert(path, None);
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            let mut settled = Vec::new();
            pending.retain(|path, last| match seen(path) {
                None => false, // gone (or a folder)
                Some(now) if *last == Some(now) => {
                    settled.push(path.clone());
                    false
                }
                Some(now) => {
                    *last = Some(now);
                    true
                }
            });
            for path in settled {
                handle(&self.engine, &path, &self.stats);
                self.stats.handled.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// Re-reads the folder list when its revision moved, and watches what it says.
    fn follow_list(&mut self) {
        let rev = self.engine.hot_folders_rev();
        if rev == self.rev {
            return;
        }
        // The watcher is being dropped: the channel closes soon, nothing left to follow.
        let Some(watches) = self.watches.upgrade() else {
            return;
        };
        // Taken first: a failed read is not retried (and logged) on every turn.
        self.rev = rev;
        match self.engine.hot_folders() {
            Ok(list) => watches
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .follow(&list),
            Err(e) => tracing::warn!(error = %e, "hot folders: cannot read the list"),
        }
    }
}

/// Imports one settled file (or says why not).
fn handle(engine: &Engine, path: &Path, stats: &HotFolderStats) {
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    if !media::is_supported(&head[..n]) {
        tracing::info!(file = %path.display(), "hot folder: ignoring a file that is not a supported image or video");
        return;
    }
    match engine.import_asset(path) {
        Ok((rec, true)) => {
            stats.imported.fetch_add(1, Ordering::SeqCst);
            tracing::info!(file = %path.display(), sha256 = %rec.sha256, "hot folder: imported");
        }
        Ok((rec, false)) => {
            tracing::info!(file = %path.display(), sha256 = %rec.sha256, "hot folder: already in the library");
        }
        Err(e) => tracing::warn!(file = %path.display(), error = %e, "hot folder: import failed"),
    }
}
