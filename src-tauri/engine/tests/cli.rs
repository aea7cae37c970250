//! The `iskra` CLI end to end on a temp data dir, signed out (X4): projects, placing an image,
//! moving it, the outbox, status, and the error shape of a command that needs a session.

use serde_json::Value;

mod common;
use common::{iskra, json};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[test]
fn projects_images_moves_and_outbox_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = json(d, &["projects", "create"]);
    assert_eq!(p["name"], "Iskra 01");
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(
        json(d, &["projects", "create", "Moodboard"])["name"],
        "Moodboard"
    );
    json(d, &["projects", "rename", &id, "Renamed"]);
    let png = d.join("pixel.png");
    std::fs::write(&png, PNG).unwrap();
    let el = json(
        d,
        &[
            "add-image",
            &id,
            png.to_str().unwrap(),
            "--x",
            "-5",
            "--y",
            "7",
        ],
    );
    // Centred on the point, as the app places a dropped file (a 1×1 image).
    assert_eq!(
        (el["x"].as_f64(), el["y"].as_f64()),
        (Some(-5.5), Some(6.5))
    );
    let el_id = el["id"].as_str().unwrap().to_owned();
    let moved = json(d, &["move", &id, &el_id, "-10.5", "20"]);
    assert_eq!(moved["opIds"].as_array().unwrap().len(), 1);
    let list = json(d, &["projects", "list"]);
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        (mine["name"].as_str(), mine["imageCount"].as_i64()),
        (Some("Renamed"), Some(1))
    );
    let shown = json(d, &["projects", "show", &id]);
    assert_eq!(shown["canvas"]["elements"][0]["x"], -10.5);
    let kinds: Vec<String> = json(d, &["outbox", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["payload"]["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "project.create",
            "project.create",
            "project.rename",
            "asset.upload",
            "canvas.change",
            "canvas.change"
        ]
    );
    let status = json(d, &["status"]);
    assert_eq!(
        (status["signedIn"].as_bool(), status["pending"].as_u64()),
        (Some(false), Some(6))
    );
    assert_eq!(json(d, &["assets", "list"]).as_array().unwrap().len(), 1);

    let out = iskra(d, &["sync"]);
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "auth");
    json(d, &["projects", "delete", &id]);
    assert!(!iskra(d, &["projects", "show", &id]).status.success());
}
