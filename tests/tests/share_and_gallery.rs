//! Sharing and the gallery through the engine (S10), against the real server: an image still
//! only on the device is uploaded and shared, sharing it again gives the same link, the link's
//! page opens for people and counts, revoking kills it at once; the gallery lists the user's
//! generated images (made through the fake fal) with their links and counts, sorted by newest
//! or by downloads, page by page.

use iskra_engine::sync::sharing::{download_shared, GalleryOrder, GalleryQuery, GallerySort};
use iskra_engine::sync::SyncError;
use iskra_fake_fal::{FakeConfig, FakeFal, Progress};
use iskra_protocol::GalleryItem;
use iskra_tests::device::Device;
use iskra_tests::server::TestServer;
use std::time::Duration;

/// Bound of every wait in these tests.
const BOUND: Duration = Duration::from_secs(30);
/// A person's browser (not a link-preview crawler).
const PERSON: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36";

/// `GET url` as a person, not following redirects: the status.
async fn visit(url: &str) -> u16 {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(PERSON)
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .expect("GET")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_image_is_uploaded_shared_once_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let token = server.token("sharer");
    let device = Device::new(&server.url(), &token);

    let file = dir.path().join("boat.png");
    image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 120]))
        .save(&file)
        .unwrap();
    let project = device.create_project();
    let element = device.engine.add_media(project, &file, 0.0, 0.0).unwrap();
    let sha = element.asset_id.expect("element has an asset");
    assert!(
        !device.engine.asset(&sha).unwrap().unwrap().uploaded,
        "not synced before it is shared"
    );

    let link = device.sync.share(&sha).await.expect("share");
    assert!(device.engine.asset(&sha).unwrap().unwrap().uploaded);
    assert_eq!(link.short_id.len(), 8);
    assert_eq!(link.url, format!("{}/t/{}", server.url(), link.short_id));
    let again = device.sync.share(&sha).await.expect("share again");
    assert_eq!(again, link, "sharing again gives the same link");

    assert_eq!(visit(&link.url).await, 200, "the viewer page opens");
    let shares = device.sync.shares().await.expect("shares");
    assert_eq!(shares.len(), 1, "{shares:?}");
    assert_eq!(
        (shares[0].short_id.as_str(), shares[0].asset_id.as_str()),
        (link.short_id.as_str(), sha.as_str())
    );
    assert_eq!((shares[0].views, shares[0].downloads), (1, 0));

    // Someone else opens the link in Iskra: the image joins their library, a download counted.
    let other = Device::new(&server.url(), &server.token("friend"));
    let got = download_shared(&other.engine, &server.url(), &link.short_id)
        .await
        .expect("open the link in Iskra");
    assert_eq!(got.sha256, sha);
    assert_eq!((got.width, got.height), (Some(40), Some(30)));
    assert_eq!(device.sync.shares().await.expect("shares")[0].downloads, 1);

    assert!(device.sync.unshare(&sha).await.expect("revoke"), "revoked");
    assert_eq!(
        visit(&link.url).await,
        404,
        "a revoked link is dead at once"
    );
    assert!(
        !device.sync.unshare(&sha).await.expect("revoke again"),
        "nothing left to revoke"
    );
    assert!(device.sync.shares().await.expect("shares").is_empty());
    let gone = download_shared(&other.engine, &server.url(), &link.short_id)
        .await
        .unwrap_err();
    assert!(
        matches!(gone, SyncError::Rejected { status: 404, .. }),
        "{gone:?}"
    );
    let fresh = device.sync.share(&sha).await.expect("share anew");
    assert_ne!(fresh.short_id, link.short_id, "a new link after a revoke");

    let unknown = device.sync.share(&"0".repeat(64)).await.unwrap_err();
    assert!(
        matches!(unknown, SyncError::Rejected { status: 404, .. }),
        "{unknown:?}"
    );
}

/// A page of the gallery.
async fn gallery(device: &Device, query: GalleryQuery) -> (Vec<GalleryItem>, Option<String>) {
    let page = device.sync.gallery(&query).await.expect("gallery");
    (page.items, page.next_cursor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gallery_lists_generated_images_with_links_and_counts() {
    let fal = FakeFal::start(FakeConfig::with_progress(Progress::Instant)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = TestServer::config_with_fal(dir.path(), &fal);
    let server = TestServer::start_with(cfg).await;
    let token = server.token("gallerist");
    let device = Device::new(&server.url(), &token);
    let project = device.create_project();
    device.sync_until_flushed(BOUND).await;

    let prompts = ["a lighthouse at dawn", "a fox in the snow"];
    let mut made = Vec::new();
    for prompt in prompts {
        let out = device.cli(&["generate", &project.to_string(), prompt, "--wait"]);
        assert_eq!(out["status"], "completed", "{out}");
        made.push(out["outputs"][0].as_str().expect("asset id").to_owned());
    }
    // An upload is not a generated image: the gallery leaves it out.
    let file = dir.path().join("upload.png");
    image::RgbImage::from_pixel(8, 8, image::Rgb([9, 9, 9]))
        .save(&file)
        .unwrap();
    device.engine.add_media(project, &file, 0.0, 0.0).unwrap();
    device.sync_until_flushed(BOUND).await;

    // Newest first by default, with provenance and no link yet.
    let (items, _) = gallery(&device, GalleryQuery::default()).await;
    let ids: Vec<&str> = items.iter().map(|i| i.asset_id.as_str()).collect();
    assert_eq!(ids, [made[1].as_str(), made[0].as_str()], "{items:?}");
    assert_eq!(items[0].prompt, prompts[1]);
    assert!(items[0].size.contains('x') && !items[0].model.is_empty());
    assert!(items.iter().all(|i| i.share.is_none() && i.views == 0));

    // The older one shared and downloaded once: first by downloads, with its counts.
    let link = device.sync.share(&made[0]).await.expect("share");
    assert_eq!(visit(&format!("{}/image", link.url)).await, 302);
    let by_downloads = GalleryQuery {
        sort: GallerySort::Downloads,
        ..GalleryQuery::default()
    };
    let (items, _) = gallery(&device, by_downloads).await;
    assert_eq!(items[0].asset_id, made[0]);
    assert_eq!(items[0].share.as_ref(), Some(&link));
    assert_eq!((items[0].views, items[0].downloads), (0, 1));
    assert!(items[1].share.is_none());

    // Page by page with the cursor, oldest first: each image once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let query = GalleryQuery {
            order: GalleryOrder::Asc,
            limit: Some(1),
            cursor: cursor.take(),
            ..GalleryQuery::default()
        };
        let (items, next) = gallery(&device, query).await;
        seen.extend(items.into_iter().map(|i| i.asset_id));
        match next {
            Some(c) if seen.len() < 10 => cursor = Some(c),
            _ => break,
        }
    }
    assert_eq!(seen, made);
}
