//! Hot folder acceptance (D8): a file copied in slowly is imported exactly once, after it is
//! complete; the same bytes under another name are not imported again; a text file is ignored.
//! No timing asserts: every wait polls the watcher's counters with a generous bound.

use iskra_engine::hotfolder::HotFolderWatcher;
use iskra_engine::media::sha256_file;
use iskra_engine::Engine;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Longest wait for the watcher to catch up before the test fails.
const BOUND: Duration = Duration::from_secs(30);

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < BOUND, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A PNG big enough to be written in several chunks (noise does not compress).
fn noisy_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(300, 200, |x, y| {
        let v = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) as u8;
        image::Rgb([v, v.wrapping_mul(3), v.wrapping_add(91)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn slow_copy_imported_once_when_complete_dups_and_text_ignored() {
    let data = tempfile::tempdir().unwrap();
    let watched = tempfile::tempdir().unwrap();
    let engine = Engine::open(data.path()).unwrap();
    assert!(engine.add_hot_folder(watched.path()).unwrap());
    assert!(!engine.add_hot_folder(watched.path()).unwrap());
    let watcher = HotFolderWatcher::start(engine.clone()).unwrap();
    let stats = watcher.stats();

    // Written in chunks with pauses shorter than the settle interval.
    let bytes = noisy_png();
    assert!(bytes.len() > 40_000);
    let target = watched.path().join("photo.png");
    let mut f = std::fs::File::create(&target).unwrap();
    for chunk in bytes.chunks(bytes.len() / 8 + 1) {
        f.write_all(chunk).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    drop(f);
    wait_until("the import", || stats.imported.load(Ordering::SeqCst) >= 1);
    let assets = engine.assets().unwrap();
    assert_eq!(assets.len(), 1, "imported exactly once");
    assert_eq!(assets[0].sha256, sha256_file(&target).unwrap());
    assert_eq!(
        sha256_file(&engine.asset_path(&assets[0])).unwrap(),
        assets[0].sha256,
        "the cached bytes are the whole file"
    );
    assert_eq!((assets[0].width, assets[0].height), (Some(300), Some(200)));

    // A duplicate under another name, and a text file.
    let handled = stats.handled.load(Ordering::SeqCst);
    std::fs::write(watched.path().join("copy.png"), &bytes).unwrap();
    std::fs::write(watched.path().join("notes.txt"), b"not an image").unwrap();
    wait_until("both files to settle", || {
        stats.handled.load(Ordering::SeqCst) >= handled + 2
    });
    assert_eq!(stats.imported.load(Ordering::SeqCst), 1);
    assert_eq!(engine.assets().unwrap().len(), 1);

    assert!(engine.remove_hot_folder(watched.path()).unwrap());
    assert!(engine.hot_folders().unwrap().is_empty());
}

#[test]
fn a_running_watcher_follows_folders_added_and_removed_later() {
    let data = tempfile::tempdir().unwrap();
    let watched = tempfile::tempdir().unwrap();
    let engine = Engine::open(data.path()).unwrap();
    let watcher = HotFolderWatcher::start(engine.clone()).unwrap();
    assert!(watcher.watching().is_empty());

    assert!(engine.add_hot_folder(watched.path()).unwrap());
    let dir = watched.path().canonicalize().unwrap();
    wait_until("the new folder to be watched", || {
        watcher.watching() == vec![dir.clone()]
    });
    std::fs::write(watched.path().join("late.png"), noisy_png()).unwrap();
    wait_until("the import", || {
        watcher.stats().imported.load(Ordering::SeqCst) >= 1
    });
    assert_eq!(engine.assets().unwrap().len(), 1);

    assert!(engine.remove_hot_folder(watched.path()).unwrap());
    assert!(!engine.remove_hot_folder(watched.path()).unwrap());
    wait_until("the folder to be let go", || watcher.watching().is_empty());
}
