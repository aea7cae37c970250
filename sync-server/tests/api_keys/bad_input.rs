//! Bad input on every route of S9 answers 4xx in the error shape and changes nothing: key
//! management (bodies, ids, other users' keys, a key instead of a bearer token) and the
//! images API (prompts, sizes, counts, models, reference images, forms, dates, foreign ids);
//! and `/openapi.json` describes the routes with the `apiKey` scheme.

use super::support::{create_key, Form, KeyClient};
use crate::common::media::{png, sha256_hex};
use crate::common::{send, Backend};
use crate::gen_support::{fake, server};
use iskra_fake_fal::Progress;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

async fn every_new_route_refuses_bad_input(b: Backend) {
    let fal = fake(Progress::Instant).await;
    let srv = server(b, &fal, |cfg| cfg.api_keys.requests_free.minute = 10_000).await;
    let alice = srv.user("alice");
    let bob = srv.user("bob");
    let key = create_key(&alice, "k", None).await;
    let k = KeyClient::new(&srv, key["key"].as_str().unwrap());

    // Key management.
    for (body, field) in [
        (json!({}), None),
        (json!({"name": ""}), Some("name")),
        (json!({"name": "x".repeat(101)}), Some("name")),
        (json!({"name": "x", "scopes": []}), Some("scopes")),
        (json!({"name": "x", "scopes": ["admin"]}), Some("scopes")),
        (json!({"name": "x", "scopes": "images:read"}), None),
        (json!({"name": "x", "extra": 1}), None),
    ] {
        let res = alice.post("/v1/api-keys", &body).await;
        let err = res.expect_error(422, "VALIDATION_FAILED");
        if let Some(f) = field {
            assert!(err["fields"][f].is_string(), "{body}: {err}");
        }
    }
    let raw = |method: Method, path: &str| alice.request(method, path);
    send(
        raw(Method::POST, "/v1/api-keys")
            .header("content-type", "application/json")
            .body("{"),
    )
    .await
    .expect_error(400, "BAD_REQUEST");
    send(raw(Method::POST, "/v1/api-keys").body("name=x"))
        .await
        .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    srv.anonymous()
        .post("/v1/api-keys", &json!({"name": "x"}))
        .await
        .expect_error(401, "UNAUTHENTICATED");
    alice
        .delete("/v1/api-keys/not-a-uuid")
        .await
        .expect_error(400, "BAD_REQUEST");
    alice
        .delete(&format!("/v1/api-keys/{}", Uuid::new_v4()))
        .await
        .expect_error(404, "NOT_FOUND");
    bob.delete(&format!("/v1/api-keys/{}", key["id"].as_str().unwrap()))
        .await
        .expect_error(404, "NOT_FOUND");
    send(k.request(
        Method::DELETE,
        &format!("/v1/api-keys/{}", key["id"].as_str().unwrap()),
    ))
    .await
    .expect_error(403, "FORBIDDEN");
    assert_eq!(
        alice.get("/v1/api-keys").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing was created or revoked"
    );

    // Generate.
    for (body, field) in [
        (json!({}), None),
        (json!({"prompt": ""}), Some("prompt")),
        (json!({"prompt": "x".repeat(4001)}), Some("prompt")),
        (json!({"prompt": "x", "numImages": 9}), Some("numImages")),
        (json!({"prompt": "x", "numImages": -1}), None),
        (
            json!({"prompt": "x", "imageSize": "huge"}),
            Some("imageSize"),
        ),
        (json!({"prompt": "x", "model": "nope/nope"}), Some("model")),
        (
            json!({"prompt": "x", "imageAssetId": "ab"}),
            Some("imageAssetId"),
        ),
        (json!({"prompt": "x", "kind": "text-to-image"}), None),
    ] {
        let res = k.post("/v1/images/generate", &body).await;
        let err = res.expect_error(422, "VALIDATION_FAILED");
        if let Some(f) = field {
            assert!(err["fields"][f].is_string(), "{body}: {err}");
        }
    }

    // Edit, as JSON and as forms.
    k.post("/v1/images/edit", &json!({"prompt": "x"}))
        .await
        .expect_error(422, "VALIDATION_FAILED");
    k.post(
        "/v1/images/edit",
        &json!({"prompt": "x", "imageAssetId": sha256_hex(b"nobody")}),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    let theirs = png(8, 8, 3);
    bob.upload(&theirs, "image/png").await.expect(201);
    k.post(
        "/v1/images/edit",
        &json!({"prompt": "x", "imageAssetId": sha256_hex(&theirs)}),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    let image = png(16, 16, 4);
    let form_cases: Vec<(Form, u16, &str)> = vec![
        (
            Form::default().text("prompt", "x"),
            422,
            "VALIDATION_FAILED",
        ),
        (
            Form::default().file("image", "image/png", &image),
            422,
            "VALIDATION_FAILED",
        ),
        (
            Form::default().text("prompt", "x").file(
                "image",
                "image/png",
                b"plain text, not an image",
            ),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            Form::default()
                .text("prompt", "x")
                .file("image", "image/jpeg", &image),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            Form::default()
                .text("prompt", "x")
                .text("colour", "red")
                .file("image", "image/png", &image),
            422,
            "VALIDATION_FAILED",
        ),
        (
            Form::default()
                .text("prompt", "x")
                .text("numImages", "many")
                .file("image", "image/png", &image),
            422,
            "VALIDATION_FAILED",
        ),
        (
            Form::default()
                .text("prompt", "x")
                .text("imageSize", "huge")
                .file("image", "image/png", &image),
            422,
            "VALIDATION_FAILED",
        ),
    ];
    for (form, status, code) in form_cases {
        let res = send(form.attach(k.request(Method::POST, "/v1/images/edit"))).await;
        res.expect_error(status, code);
    }
    // The refused forms stored nothing.
    alice
        .get(&format!("/v1/assets/{}", sha256_hex(&image)))
        .await
        .expect_error(404, "NOT_FOUND");
    let broken = k
        .request(Method::POST, "/v1/images/edit")
        .header("content-type", "multipart/form-data")
        .body("no boundary");
    send(broken).await.expect_error(400, "BAD_REQUEST");
    let cut = k
        .request(Method::POST, "/v1/images/edit")
        .header("content-type", "multipart/form-data; boundary=zz")
        .body("--zz\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nunfinished");
    let res = send(cut).await;
    assert!(matches!(res.status, 400 | 422), "{res:?}");
    crate::common::assert_error_shape(&res.json);

    // Job and usage.
    k.get("/v1/images/job/not-a-uuid")
        .await
        .expect_error(400, "BAD_REQUEST");
    k.get(&format!("/v1/images/job/{}", Uuid::new_v4()))
        .await
        .expect_error(404, "NOT_FOUND");
    let bobs = bob
        .post("/v1/images/generate", &json!({"prompt": "bob's"}))
        .await
        .expect(202)
        .clone();
    k.get(&format!(
        "/v1/images/job/{}",
        bobs["jobId"].as_str().unwrap()
    ))
    .await
    .expect_error(404, "NOT_FOUND");
    for (query, status) in [
        ("from=yesterday", 422),
        ("to=2026-13-01", 422),
        ("from=2026-02-01&to=2026-01-01", 422),
        ("from=2020-01-01&to=2026-01-01", 422),
        ("keyId=nope", 400),
    ] {
        let res = k.get(&format!("/v1/images/usage?{query}")).await;
        res.expect(status);
        crate::common::assert_error_shape(&res.json);
    }
    let bobs_key = create_key(&bob, "b", None).await;
    k.get(&format!(
        "/v1/images/usage?keyId={}",
        bobs_key["id"].as_str().unwrap()
    ))
    .await
    .expect_error(404, "NOT_FOUND");
    k.get(&format!("/v1/images/usage?keyId={}", Uuid::new_v4()))
        .await
        .expect_error(404, "NOT_FOUND");

    // The OpenAPI document describes the routes with the key scheme.
    let doc: Value = srv.openapi().await;
    for (path, method) in [
        ("/v1/images/generate", "post"),
        ("/v1/images/edit", "post"),
        ("/v1/images/job/{jobId}", "get"),
        ("/v1/images/usage", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(
            op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("apiKey").is_some())),
            "{path}: {op}"
        );
        assert!(op["responses"]["401"].is_object(), "{path}");
    }
    for (path, method) in [
        ("/v1/api-keys", "post"),
        ("/v1/api-keys", "get"),
        ("/v1/api-keys/{id}", "delete"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{path} {method}");
    }
    assert!(
        doc["paths"]["/v1/images/edit"]["post"]["requestBody"]["content"]["multipart/form-data"]
            .is_object()
    );
}

backend_tests!(every_new_route_refuses_bad_input);
