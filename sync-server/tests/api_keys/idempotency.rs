//! `Idempotency-Key` on the images API as on `POST /v1/generations`: the same key from the
//! same owner answers the same job (retried one after the other and in parallel, marked as a
//! replay), runs and counts once in the key's usage; the key with another body is 409
//! `CONFLICT`; an edit, JSON or multipart upload, likewise.

use super::support::{create_key, usage_of, Form, KeyClient};
use crate::common::media::{png, sha256_hex};
use crate::common::{send, Backend, Resp};
use crate::gen_support::{fake, server};
use iskra_fake_fal::Progress;
use reqwest::Method;
use serde_json::{json, Value};

/// `POST path` with `body` and `Idempotency-Key: key`, as the key's caller.
async fn post_keyed(k: &KeyClient, path: &str, key: &str, body: &Value) -> Resp {
    send(
        k.request(Method::POST, path)
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

fn job_of(r: &Resp) -> String {
    r.expect(202)["jobId"].as_str().expect("jobId").to_owned()
}

async fn the_same_key_answers_the_same_job(b: Backend) {
    let fal = fake(Progress::Hold).await;
    let srv = server(b, &fal, |cfg| cfg.api_keys.requests_free.minute = 10_000).await;
    let alice = srv.user("alice");
    let created = create_key(&alice, "retries", None).await;
    let key_id = created["id"].as_str().unwrap().to_owned();
    let k = KeyClient::new(&srv, created["key"].as_str().unwrap());
    let body = json!({"prompt": "a red kite", "imageSize": "square_hd"});

    // Generate, then the same request again: one job, the second answer a replay.
    let first = post_keyed(&k, "/v1/images/generate", "gen-1", &body).await;
    let job = job_of(&first);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = post_keyed(&k, "/v1/images/generate", "gen-1", &body).await;
    assert_eq!(job_of(&again), job);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    // Parallel retries with a new key: one job for all of them.
    let parallel = futures::future::join_all(
        (0..5).map(|_| post_keyed(&k, "/v1/images/generate", "gen-2", &body)),
    )
    .await;
    let jobs: std::collections::BTreeSet<String> = parallel.iter().map(job_of).collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert!(!jobs.contains(&job));

    // The key with another body is refused; nothing is queued for it.
    let other = json!({"prompt": "a blue kite"});
    post_keyed(&k, "/v1/images/generate", "gen-1", &other)
        .await
        .expect_error(409, "CONFLICT");

    // Edit: JSON with an asset id, then a multipart upload, each retried.
    let reference = png(64, 48, 11);
    let form = || {
        Form::default()
            .text("prompt", "make it blue")
            .file("image", "image/png", &reference)
    };
    let upload = |key: &'static str| {
        send(
            form().attach(
                k.request(Method::POST, "/v1/images/edit")
                    .header("idempotency-key", key),
            ),
        )
    };
    let uploaded = job_of(&upload("edit-form").await);
    let replayed = upload("edit-form").await;
    assert_eq!(job_of(&replayed), uploaded);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    let edit = json!({"prompt": "now green", "imageAssetId": sha256_hex(&reference)});
    let edited = job_of(&post_keyed(&k, "/v1/images/edit", "edit-json", &edit).await);
    let again = post_keyed(&k, "/v1/images/edit", "edit-json", &edit).await;
    assert_eq!(job_of(&again), edited);
    // The generate route's key used for an edit is another request: 409.
    post_keyed(&k, "/v1/images/edit", "gen-1", &edit)
        .await
        .expect_error(409, "CONFLICT");

    // Four jobs in all, each linked to the key once.
    let listed = alice
        .get("/v1/generations?limit=100")
        .await
        .expect(200)
        .clone();
    assert_eq!(listed["items"].as_array().unwrap().len(), 4, "{listed}");
    assert_eq!(usage_of(&alice, &key_id).await["generations"], 4);
}

backend_tests!(the_same_key_answers_the_same_job);
