//! Projects made while signed out and the offer after the first sign-in (D6), against a real
//! server:
//!
//! - Before the offer is answered, and after "keep them on this device", sync passes send
//!   nothing of those projects — not their creation, not their edits, not the upload of an
//!   image only they show — while a project made signed in syncs as usual.
//! - "Add to account" later (the projects panel) and "add them" as the answer both bring the
//!   whole project to the server: the same canvas as on the device, and the image's bytes.

use iskra_engine::NewElement;
use iskra_tests::device::{by_id, Device};
use iskra_tests::server::TestServer;
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

const BOUND: Duration = Duration::from_secs(30);

/// Work made while signed out: a project with an image (moved) and a plain element.
struct Offline {
    project: Uuid,
    sha256: String,
}

/// Makes [`Offline`] work on `d` while signed out, then signs in (the engine is told so).
fn work_signed_out(d: &Device, files: &Path, seed: u8) -> Offline {
    d.engine.set_signed_in(false);
    let project = d.engine.create_project(Some("Made offline")).unwrap().id;
    let file = files.join(format!("pic-{seed}.png"));
    let img = image::RgbImage::from_fn(32, 24, |x, y| image::Rgb([seed, x as u8, y as u8]));
    img.save(&file).unwrap();
    let image = d.engine.add_media(project, &file, 10.0, 20.0).unwrap();
    d.engine
        .move_element(project, image.id, 40.0, 50.0)
        .unwrap();
    d.engine
        .add_element(project, &NewElement::image(None, 0.0, 0.0, 5.0, 5.0))
        .unwrap();
    d.engine.set_signed_in(true);
    Offline {
        project,
        sha256: image.asset_id.expect("an asset"),
    }
}

/// Ids of the projects the server has for the device's user.
async fn on_server(d: &Device) -> Vec<Uuid> {
    let list = d.sync.api().list_projects().await.expect("list projects");
    list.into_iter().map(|p| p.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_projects_are_never_sent_until_added_to_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let token = server.token("keeper");
    let d = Device::new(&server.url(), &token);
    let work = work_signed_out(&d, dir.path(), 1);

    // Signed in, offer not answered yet: nothing of it goes.
    let report = d.sync().await;
    assert_eq!((report.sent, d.pending()), (0, 0), "{report:?}");
    assert!(on_server(&d).await.is_empty());

    // "Keep them on this device": still nothing, even after more edits, while a project made
    // signed in syncs.
    assert_eq!(d.engine.keep_local_projects().unwrap(), 1);
    let el = d
        .engine
        .add_element(work.project, &NewElement::image(None, 9.0, 9.0, 1.0, 1.0))
        .unwrap()
        .0;
    d.engine.rename_project(work.project, "Private").unwrap();
    let synced = d.create_project();
    d.sync_until_flushed(BOUND).await;
    assert_eq!(on_server(&d).await, [synced]);
    assert!(!d.sync.api().has_asset(&work.sha256).await.unwrap());
    assert_eq!(d.canvas(work.project).elements.len(), 3, "kept work intact");

    // "Add to account" from the projects panel: the whole project arrives.
    assert!(d.engine.add_project_to_account(work.project).unwrap());
    d.sync_until_flushed(BOUND).await;
    let mut ids = on_server(&d).await;
    ids.sort();
    let mut want = vec![synced, work.project];
    want.sort();
    assert_eq!(ids, want);
    let detail = server.project(&token, work.project).await;
    assert_eq!(detail.project.name, "Private");
    assert_eq!(by_id(detail.canvas), by_id(d.canvas(work.project)));
    assert!(by_id(d.canvas(work.project))
        .elements
        .iter()
        .any(|e| e.id == el.id));
    assert!(d.sync.api().has_asset(&work.sha256).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_them_sends_the_whole_projects_to_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let token = server.token("adder");
    let d = Device::new(&server.url(), &token);
    let work = work_signed_out(&d, dir.path(), 2);
    d.sync().await;
    assert!(on_server(&d).await.is_empty());

    assert_eq!(d.engine.import_local_projects().unwrap(), 1);
    d.sync_until_flushed(BOUND).await;
    assert!(d.rejected().is_empty());
    assert_eq!(on_server(&d).await, [work.project]);
    let detail = server.project(&token, work.project).await;
    assert_eq!(detail.project.name, "Made offline");
    assert_eq!(by_id(detail.canvas), by_id(d.canvas(work.project)));
    assert!(d.sync.api().has_asset(&work.sha256).await.unwrap());

    // A second device of the account gets it like any other project.
    let other = Device::new(&server.url(), &token);
    other.sync().await;
    assert_eq!(
        by_id(other.canvas(work.project)),
        by_id(d.canvas(work.project))
    );
}
