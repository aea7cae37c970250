//! Accepted uploads and the asset lifecycle (S4): PNG, JPEG and MP4 are stored with their
//! probed dimensions (and duration), a repeat is 200, signed URLs serve the bytes with the right
//! type without auth until the asset is deleted, a delete frees quota at once, and the list
//! pages, sorts and filters.

#[macro_use]
mod common;

use common::media::{jpeg, mp4, png, sha256_hex, MP4_DURATION_MS};
use common::sse::EventStream;
use common::{send, Backend, TestServer, User};
use serde_json::{json, Value};

/// Uploads `bytes` (201) and checks the asset's fields.
async fn upload_ok(user: &User, bytes: &[u8], mime: &str, kind: &str, size: (i64, i64)) -> Value {
    let asset = user.upload(bytes, mime).await.expect(201).clone();
    assert_eq!(asset["id"], sha256_hex(bytes));
    assert_eq!(
        (asset["type"].as_str(), asset["mimeType"].as_str()),
        (Some(kind), Some(mime))
    );
    assert_eq!(
        (asset["width"].as_i64(), asset["height"].as_i64()),
        (Some(size.0), Some(size.1))
    );
    assert_eq!(asset["sizeBytes"], bytes.len());
    assert_eq!(asset["source"], "upload");
    assert!(asset["createdAt"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    asset
}

/// Fetches a signed URL without credentials.
async fn fetch_signed(srv: &TestServer, asset: &Value) -> common::Resp {
    send(srv.http.get(asset["url"].as_str().expect("url"))).await
}

async fn valid_uploads_are_stored_served_and_deleted(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let mut events = EventStream::open(&alice, None).await;
    let (p, j, v) = (png(64, 48, 1), jpeg(40, 30, 2), mp4(320, 240));
    let pa = upload_ok(&alice, &p, "image/png", "image", (64, 48)).await;
    assert_eq!(pa["durationMs"], Value::Null);
    assert!(pa["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/files/", srv.base)));
    upload_ok(&alice, &j, "image/jpeg", "image", (40, 30)).await;
    let va = upload_ok(&alice, &v, "video/mp4", "video", (320, 240)).await;
    assert_eq!(va["durationMs"], MP4_DURATION_MS);
    assert_eq!(
        events.next_named("asset.created").await.data["asset"]["id"],
        pa["id"]
    );

    // A repeat is 200 with the same asset and counts nothing twice.
    let again = alice
        .upload(&p, "application/octet-stream")
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (&again["id"], &again["createdAt"]),
        (&pa["id"], &pa["createdAt"])
    );
    let total = (p.len() + j.len() + v.len()) as i64;
    let storage = alice.storage().await;
    assert_eq!(
        (
            storage["usedBytes"].as_i64(),
            storage["images"].as_i64(),
            storage["videos"].as_i64()
        ),
        (Some(total), Some(2), Some(1))
    );

    // Reads: metadata, content with auth, signed URL without.
    for (asset, bytes, mime) in [(&pa, &p, "image/png"), (&va, &v, "video/mp4")] {
        let id = asset["id"].as_str().unwrap();
        assert_eq!(
            alice.get(&format!("/v1/assets/{id}")).await.expect(200)["id"],
            asset["id"]
        );
        let content = alice.get(&format!("/v1/assets/{id}/content")).await;
        content.expect(200);
        assert_eq!(
            (content.bytes.as_ref(), content.header("content-type")),
            (bytes.as_slice(), Some(mime))
        );
        let signed = fetch_signed(&srv, asset).await;
        signed.expect(200);
        assert_eq!(
            (signed.bytes.as_ref(), signed.header("content-type")),
            (bytes.as_slice(), Some(mime))
        );
    }

    // A delete frees the room at once and ends the signed URL.
    let id = pa["id"].as_str().unwrap();
    alice.delete(&format!("/v1/assets/{id}")).await.expect(204);
    let after = alice.storage().await;
    assert_eq!(
        (after["usedBytes"].as_i64(), after["images"].as_i64()),
        (Some(total - p.len() as i64), Some(1))
    );
    fetch_signed(&srv, &pa).await.expect_error(404, "NOT_FOUND");
    alice.head(&format!("/v1/assets/{id}")).await.expect(404);
    alice
        .get(&format!("/v1/assets/{id}"))
        .await
        .expect_error(404, "NOT_FOUND");
    alice
        .get(&format!("/v1/assets/{id}/content"))
        .await
        .expect_error(404, "NOT_FOUND");
    alice
        .delete(&format!("/v1/assets/{id}"))
        .await
        .expect_error(404, "NOT_FOUND");
    assert_eq!(
        events.next_named("asset.deleted").await.data["assetId"],
        pa["id"]
    );
    let blobs = srv.blobs().await;
    assert_eq!(blobs.len(), 2, "the deleted blob is gone: {blobs:?}");
    // And it can be uploaded again.
    alice.upload(&p, "image/png").await.expect(201);
}

/// `(createdAt, id)` order of the default list, newest first.
fn by_created_desc(items: &[Value]) -> Vec<Value> {
    let mut sorted = items.to_vec();
    let key = |a: &Value| {
        (
            a["createdAt"].as_str().unwrap().to_owned(),
            a["id"].as_str().unwrap().to_owned(),
        )
    };
    sorted.sort_by_key(|a| std::cmp::Reverse(key(a)));
    sorted
}

async fn asset_list_pages_sorts_and_filters(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    for i in 0..6 {
        alice
            .upload(&png(8 + i * 5, 8, i), "image/png")
            .await
            .expect(201);
    }
    alice
        .upload(&jpeg(16, 16, 9), "image/jpeg")
        .await
        .expect(201);
    alice.upload(&mp4(64, 64), "video/mp4").await.expect(201);
    let full = alice.get("/v1/assets?limit=100").await.expect(200).clone();
    let all = full["items"].as_array().unwrap().clone();
    assert_eq!((all.len(), &full["nextCursor"]), (8, &Value::Null));
    assert_eq!(all, by_created_desc(&all), "newest first by default");
    let ids = |items: &[Value]| items.iter().map(|a| a["id"].clone()).collect::<Vec<_>>();

    for (query, check) in [
        ("", None),
        ("sort=created&order=asc", Some("created asc")),
        ("sort=size&order=asc", Some("size asc")),
        ("sort=size&order=desc", Some("size desc")),
        ("sort=type&order=asc", Some("type asc")),
        ("sort=type&order=desc", Some("type desc")),
    ] {
        let unpaged = alice
            .get(&format!("/v1/assets?limit=100&{query}"))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .clone();
        let paged = alice
            .list_all("/v1/assets", &format!("limit=3&{query}"))
            .await;
        assert_eq!(
            ids(&paged),
            ids(&unpaged),
            "pages of {query:?} = the whole list"
        );
        let sizes: Vec<i64> = unpaged
            .iter()
            .map(|a| a["sizeBytes"].as_i64().unwrap())
            .collect();
        let types: Vec<&str> = unpaged
            .iter()
            .map(|a| a["type"].as_str().unwrap())
            .collect();
        match check {
            Some("created asc") => assert_eq!(
                ids(&unpaged),
                ids(&all).into_iter().rev().collect::<Vec<_>>()
            ),
            Some("size asc") => assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}"),
            Some("size desc") => assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}"),
            Some("type asc") => assert_eq!(types.last(), Some(&"video")),
            Some("type desc") => assert_eq!(types.first(), Some(&"video")),
            _ => {}
        }
    }
    let videos = alice.list_all("/v1/assets", "type=video").await;
    assert_eq!(
        videos.iter().map(|a| &a["type"]).collect::<Vec<_>>(),
        vec![&json!("video")]
    );
    assert_eq!(
        alice
            .list_all("/v1/assets", "type=image&limit=4")
            .await
            .len(),
        7
    );
    let first = alice.get("/v1/assets?limit=2").await.expect(200).clone();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().expect("a next page");
    for bad in [
        "limit=0",
        "limit=101",
        "sort=name",
        "order=up",
        "type=audio",
        &format!("sort=size&cursor={cursor}"),
        "cursor=%%%",
    ] {
        let res = alice.get(&format!("/v1/assets?{bad}")).await;
        assert!(matches!(res.status, 400 | 422), "{bad}: {}", res.status);
        common::assert_error_shape(&res.json);
    }
}

backend_tests!(
    valid_uploads_are_stored_served_and_deleted,
    asset_list_pages_sorts_and_filters
);
