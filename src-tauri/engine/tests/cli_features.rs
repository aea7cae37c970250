//! The `iskra` CLI's second-milestone commands end to end, signed out: project search and
//! sort (D2), thumbnails (D2/D5), hot folder settings (D8), `.iskra` export and import (D9),
//! and `login` without a way to sign in.

use serde_json::Value;

mod common;
use common::{iskra, json};

fn names(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

#[test]
fn search_sort_thumbnail_hot_folders_export_import() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("a");
    let d = d.as_path();
    for name in ["zebra board", "Apple Board", "misc"] {
        json(d, &["projects", "create", name]);
    }
    let list = json(
        d,
        &["projects", "list", "--search", "BOARD", "--sort", "name"],
    );
    assert_eq!(names(&list), ["Apple Board", "zebra board"]);
    let all = json(d, &["projects", "list", "--sort", "name"]);
    assert_eq!(names(&all), ["Apple Board", "misc", "zebra board"]);
    let id = all[1]["id"].as_str().unwrap().to_owned();

    let png = dir.path().join("red.png");
    image::RgbImage::from_pixel(64, 32, image::Rgb([255, 0, 0]))
        .save(&png)
        .unwrap();
    json(d, &["add-image", &id, png.to_str().unwrap()]);
    let thumb = json(d, &["projects", "thumbnail", &id]);
    let thumb = image::open(thumb["thumbnail"].as_str().unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (512, 256));

    let watched = dir.path().join("inbox");
    std::fs::create_dir(&watched).unwrap();
    let w = watched.to_str().unwrap();
    assert_eq!(json(d, &["hot-folder", "add", w])["added"], true);
    assert_eq!(
        json(d, &["hot-folder", "list"]).as_array().unwrap().len(),
        1
    );
    assert_eq!(json(d, &["hot-folder", "remove", w])["removed"], true);
    assert!(json(d, &["hot-folder", "list"])
        .as_array()
        .unwrap()
        .is_empty());

    let bundle = dir.path().join("misc.iskra");
    let b = bundle.to_str().unwrap();
    let exported = json(d, &["export", &id, b]);
    assert_eq!(
        (exported["elements"].as_u64(), exported["assets"].as_u64()),
        (Some(1), Some(1))
    );
    let other = dir.path().join("b");
    let imported = json(&other, &["import", b]);
    assert_eq!(
        (imported["id"].as_str(), imported["name"].as_str()),
        (Some(id.as_str()), Some("misc"))
    );
    assert_eq!(imported["imageCount"], 1);
    assert_eq!(
        json(&other, &["assets", "list"]).as_array().unwrap().len(),
        1
    );

    // No D-Bus session in tests: the CLI says the session would not outlive the process.
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert_eq!(json(d, &["status"])["sessionPersisted"], false);
    }

    let out = iskra(d, &["login"]);
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "usage");
}
