//! Lazy asset download: an image added on device A reaches device B as an element first; B
//! fetches the bytes from the server only when it needs them, verifies them against the hash,
//! and keeps them in its cache without queueing an upload of its own.

use iskra_tests::device::Device;
use iskra_tests::server::TestServer;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asset_from_another_device_downloads_once_into_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let token = server.token("downloader");
    let a = Device::new(&server.url(), &token);
    let b = Device::new(&server.url(), &token);

    let file = dir.path().join("pic.png");
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 3, y as u8 * 5, 90]));
    img.save(&file).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let project = a.create_project();
    let element = a.engine.add_media(project, &file, 10.0, 20.0).unwrap();
    a.sync_until_flushed(Duration::from_secs(30)).await;
    let sha = element.asset_id.clone().expect("element has an asset");

    b.sync().await;
    assert!(
        b.engine.asset(&sha).unwrap().is_none(),
        "nothing downloaded before it is needed"
    );
    let record = b.sync.fetch_asset(&sha).await.expect("download");
    assert_eq!((record.width, record.height), (Some(64), Some(48)));
    assert_eq!(std::fs::read(b.engine.asset_path(&record)).unwrap(), bytes);
    assert_eq!(b.pending(), 0, "a downloaded asset is not uploaded again");
    let again = b.sync.fetch_asset(&sha).await.expect("cached");
    assert_eq!(again.sha256, sha);

    let missing = "0".repeat(64);
    assert!(
        b.sync.fetch_asset(&missing).await.is_err(),
        "unknown asset is an error"
    );
    assert!(b.engine.asset(&missing).unwrap().is_none());
}
