//! `.iskra` bundles move a project between accounts (D9): device A (account 1) builds a
//! project with two images, a moved and a resized element and a viewport, syncs and exports it;
//! device B (account 2) imports the bundle and syncs. The server then holds the same canvas
//! (elements with their ids, viewport) and the same asset bytes for both accounts.

use iskra_engine::sync::SyncClient;
use iskra_engine::{bundle, Engine};
use iskra_protocol::Viewport;
use serde_json::{json, Value};
use std::time::Duration;

struct Server {
    url: String,
    alice: String,
    bob: String,
    _data: tempfile::TempDir,
}

async fn server() -> Server {
    let data = tempfile::tempdir().unwrap();
    let config = iskra_server::Config {
        data_dir: data.path().to_path_buf(),
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = iskra_server::AppState::build(config, url.clone())
        .await
        .unwrap();
    let dev = state.dev.as_ref().expect("dev auth");
    let hour = Duration::from_secs(3600);
    let alice = dev.mint("alice", Some("alice@example.test"), hour);
    let bob = dev.mint("bob", Some("bob@example.test"), hour);
    tokio::spawn(async move {
        iskra_server::serve_state(state, listener, std::future::pending())
            .await
            .unwrap();
    });
    Server {
        url,
        alice,
        bob,
        _data: data,
    }
}

fn png(dir: &std::path::Path, name: &str, w: u32, h: u32, seed: u8) -> std::path::PathBuf {
    let img = image_png(w, h, seed);
    let path = dir.join(name);
    std::fs::write(&path, img).unwrap();
    path
}

/// A small valid PNG with distinct content per seed.
fn image_png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([seed, (x as u8).wrapping_add(seed), y as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Syncs until the outbox is empty (bounded number of passes).
async fn sync_all(client: &SyncClient) {
    for _ in 0..10 {
        client.sync_once().await.unwrap();
        let (pending, rejected) = client.engine().outbox_counts().unwrap();
        assert_eq!(rejected, 0, "{:?}", client.engine().outbox().unwrap());
        if pending == 0 {
            return;
        }
    }
    panic!(
        "outbox did not drain: {:?}",
        client.engine().outbox().unwrap()
    );
}

async fn get(url: &str, token: &str) -> reqwest::Response {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp
}

#[tokio::test]
async fn bundle_moves_a_project_between_accounts() {
    let srv = server().await;
    let files = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let a = Engine::open(dir_a.path()).unwrap();
    let p = a.create_project(Some("Moodboard")).unwrap().id;
    let e1 = a
        .add_media(p, &png(files.path(), "one.png", 40, 30, 1), 0.0, 0.0)
        .unwrap();
    let e2 = a
        .add_media(p, &png(files.path(), "two.png", 20, 20, 2), 50.0, 0.0)
        .unwrap();
    a.move_element(p, e1.id, -120.5, 33.0).unwrap();
    let mut size = serde_json::Map::new();
    size.insert("width".into(), json!(80.0));
    size.insert("height".into(), json!(60.0));
    a.set_properties(p, e2.id, size).unwrap();
    let viewport = Viewport {
        x: 10.0,
        y: -20.0,
        scale: 1.5,
    };
    a.set_viewport(p, &viewport).unwrap();
    let client_a = SyncClient::new(a.clone(), &srv.url, &srv.alice).unwrap();
    sync_all(&client_a).await;

    let file = files.path().join("moodboard.iskra");
    let mut steps = 0;
    let manifest = bundle::export(&a, p, &file, &mut |_, _| steps += 1).unwrap();
    assert_eq!((manifest.elements.len(), manifest.assets.len()), (2, 2));
    assert!(steps >= 3, "progress reported");

    let b = Engine::open(dir_b.path()).unwrap();
    let imported = bundle::import(&b, &file, &mut |_, _| {}).unwrap();
    assert_eq!(imported.id, p, "a free id is kept");
    assert_eq!(imported.name, "Moodboard");
    let client_b = SyncClient::new(b.clone(), &srv.url, &srv.bob).unwrap();
    sync_all(&client_b).await;

    // Importing again on B gives a new project id.
    let again = bundle::import(&b, &file, &mut |_, _| {}).unwrap();
    assert_ne!(again.id, p);
    assert_eq!(b.open_project(again.id).unwrap().canvas.elements.len(), 2);

    let project_url = format!("{}/v1/projects/{p}", srv.url);
    let on_a: Value = get(&project_url, &srv.alice).await.json().await.unwrap();
    let on_b: Value = get(&project_url, &srv.bob).await.json().await.unwrap();
    assert_eq!(on_a["canvas"]["elements"].as_array().unwrap().len(), 2);
    assert_eq!(on_a["canvas"]["elements"], on_b["canvas"]["elements"]);
    assert_eq!(on_a["canvas"]["viewport"], on_b["canvas"]["viewport"]);
    assert_eq!(
        on_b["canvas"]["viewport"],
        json!({"x": 10.0, "y": -20.0, "scale": 1.5})
    );
    assert_eq!(on_b["name"], "Moodboard");
    let moved = on_b["canvas"]["elements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == e1.id.to_string())
        .unwrap();
    assert_eq!(
        (moved["x"].clone(), moved["y"].clone()),
        (json!(-120.5), json!(33.0))
    );

    for asset in &manifest.assets {
        let content = format!("{}/v1/assets/{}/content", srv.url, asset.sha256);
        let bytes_a = get(&content, &srv.alice).await.bytes().await.unwrap();
        let bytes_b = get(&content, &srv.bob).await.bytes().await.unwrap();
        assert_eq!(bytes_a, bytes_b);
        assert_eq!(bytes_a.len() as u64, asset.size_bytes);
    }
}
