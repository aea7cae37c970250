//! Hot folders (D8): folders the user chose (kept in the device settings) are watched with
//! `notify`; a new image or video there is imported into the asset library once it stops
//! growing — its size and modification time unchanged across two checks [`SETTLE_INTERVAL`]
//! apart — so a file still being copied is never imported half-written. Imports are
//! deduplicated by content hash (the asset cache's key); other files are ignored with a log
//! line. A watcher thread owns the pending files and stops when [`HotFolderWatcher`] drops.

use crate::error::{EngineError, Result};
use crate::store::settings;
use crate::{media, Engine};
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
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
        self.set_setting(settings::HOT_FOLDERS, &serde_json::to_string(&all)?)?;
        Ok(all.len() != before)
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

/// Watches the engine's hot folders until dropped.
pub struct HotFolderWatcher {
    stats: Arc<HotFolderStats>,
    // Dropping the watcher closes the channel, which ends the thread.
    _watcher: notify::RecommendedWatcher,
}

impl HotFolderWatcher {
    /// Starts watching every folder in the engine's settings (none is fine: it idles).
    pub fn start(engine: Engine) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<PathBuf>();
        let mut watcher =
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
        for dir in engine.hot_folders()? {
            match watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => tracing::info!(folder = %dir.display(), "watching hot folder"),
                Err(e) => tracing::warn!(folder = %dir.display(), error = %e, "cannot watch"),
            }
        }
        let stats = Arc::new(HotFolderStats::default());
        let worker_stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("iskra-hot-folders".into())
            .spawn(move || run(&engine, &rx, &worker_stats))
            .map_err(|e| EngineError::io("starting the hot folder thread", e))?;
        Ok(Self {
            stats,
            _watcher: watcher,
        })
    }

    /// What the watcher did so far.
    pub fn stats(&self) -> &HotFolderStats {
        &self.stats
    }
}

/// The watcher thread: collects changed paths and imports each once it has settled.
fn run(engine: &Engine, rx: &mpsc::Receiver<PathBuf>, stats: &HotFolderStats) {
    let mut pending: HashMap<PathBuf, Option<Seen>> = HashMap::new();
    loop {
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
            handle(engine, &path, stats);
            stats.handled.fetch_add(1, Ordering::SeqCst);
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
