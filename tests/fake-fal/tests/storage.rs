//! fal's storage upload over real HTTP: initiate, PUT the bytes, GET them back.

mod common;

use common::*;
use iskra_fake_fal::Progress;
use serde_json::json;

async fn initiate(fal: &iskra_fake_fal::FakeFal, body: serde_json::Value, key: &str) -> Answer {
    let resp = http()
        .post(format!("{}/storage/upload/initiate", fal.rest_url()))
        .header("authorization", format!("Key {key}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    Answer {
        status: resp.status().as_u16(),
        json: resp.json().await.unwrap(),
    }
}

#[tokio::test]
async fn upload_round_trip() {
    let fal = fake(Progress::Instant).await;
    let png = iskra_fake_fal::render_png("upload", 0, 16, 16);
    let a = initiate(
        &fal,
        json!({"content_type": "image/png", "file_name": "my photo.png"}),
        &fal.key(),
    )
    .await;
    assert_eq!(a.status, 200);
    let upload_url = a.json["upload_url"].as_str().unwrap();
    let file_url = a.json["file_url"].as_str().unwrap();
    assert_ne!(upload_url, file_url);
    // Nothing to serve before the PUT.
    assert_eq!(bytes(file_url).await.0, 404);
    let resp = http()
        .put(upload_url)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let (status, ct, got) = bytes(file_url).await;
    assert_eq!((status, ct.as_deref()), (200, Some("image/png")));
    assert_eq!(got, png);
    assert_eq!(fal.upload_count(), 1);
    assert_eq!(fal.uploaded_bytes(), png.len());
    let rec = &fal.uploads()[0];
    assert_eq!(rec.file_url, file_url);
    assert_eq!(rec.content_type, "image/png");
    assert_eq!(rec.file_name, "myphoto.png");

    // The storage URL can then be a model input.
    let sub = submit(
        &fal,
        "fal-ai/flux/dev/image-to-image",
        json!({"prompt": "edit", "image_url": file_url}),
    )
    .await;
    let recorded = fal.submission(sub["request_id"].as_str().unwrap()).unwrap();
    assert_eq!(recorded.input["image_url"], file_url);
}

#[tokio::test]
async fn initiate_needs_the_key_and_uploads_need_a_slot() {
    let fal = fake(Progress::Instant).await;
    let a = initiate(
        &fal,
        json!({"content_type": "image/png", "file_name": "a.png"}),
        "wrong",
    )
    .await;
    assert_eq!(a.status, 401);
    let resp = http()
        .put(format!("{}/upload/no-such-slot", fal.base_url()))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(fal.upload_count(), 0);
}

#[tokio::test]
async fn large_uploads_are_accepted() {
    let fal = fake(Progress::Instant).await;
    let a = initiate(
        &fal,
        json!({"content_type": "video/mp4", "file_name": "clip.mp4"}),
        &fal.key(),
    )
    .await;
    let big = vec![7u8; 20 * 1024 * 1024];
    let resp = http()
        .put(a.json["upload_url"].as_str().unwrap())
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(fal.uploaded_bytes(), big.len());
    assert_eq!(
        bytes(a.json["file_url"].as_str().unwrap()).await.2.len(),
        big.len()
    );
}
