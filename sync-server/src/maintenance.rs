//! Background upkeep: removing upload temporaries left behind by a crash or a killed process
//! (orphaned uploads), at start and then periodically, and checkpointing SQLite's WAL off the
//! request path. Expired shares join here with sharing.

use std::path::Path;
use std::time::{Duration, SystemTime};

/// How old an upload temporary must be before it counts as orphaned.
pub const ORPHAN_AGE: Duration = Duration::from_secs(3600);
/// How often the sweep runs.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// Deletes files in `dir` last modified before `now - min_age`; returns how many it removed.
pub fn sweep_orphans(dir: &Path, min_age: Duration, now: SystemTime) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= min_age);
        if meta.is_file() && old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// How often the WAL is checkpointed (SQLite). Often, so that each pass is short: a pass copies
/// what was written since the last one, and at 1,000 pushes a second a pass every second took
/// 25–50 ms of a core, a burst that queued the pushes arriving meanwhile (the load test's p99
/// went from 8–10 ms to 4–6 ms at 100 ms). A pass with nothing to copy does nothing.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// Checkpoints the store every [`CHECKPOINT_INTERVAL`] until `stop` turns true.
pub async fn checkpoints(store: crate::store::Store, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CHECKPOINT_INTERVAL) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let started = std::time::Instant::now();
        match store.checkpoint(crate::store::WAL_RESTART_BYTES).await {
            Ok(done) => tracing::debug!(
                frames = done.wal_frames,
                restarted = done.restarted,
                ms = started.elapsed().as_secs_f64() * 1e3,
                "WAL checkpoint"
            ),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}

/// Runs the sweep now and every [`SWEEP_INTERVAL`] until `stop` turns true.
pub async fn run(tmp_dir: std::path::PathBuf, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let dir = tmp_dir.clone();
        match tokio::task::spawn_blocking(move || {
            sweep_orphans(&dir, ORPHAN_AGE, SystemTime::now())
        })
        .await
        {
            Ok(Ok(n)) if n > 0 => tracing::info!(removed = n, "removed orphaned upload files"),
            Ok(Err(e)) => tracing::warn!(error = %e, "orphaned upload sweep failed"),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_INTERVAL) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_old_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("upload-old"), b"x").unwrap();
        let later = SystemTime::now() + Duration::from_secs(7200);
        assert_eq!(
            sweep_orphans(dir.path(), ORPHAN_AGE, SystemTime::now()).unwrap(),
            0
        );
        assert_eq!(sweep_orphans(dir.path(), ORPHAN_AGE, later).unwrap(), 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
