//! The images API end to end through the fake fal with a key: generate → job → images
//! downloaded through their signed URLs; edit from an uploaded reference image
//! (`multipart/form-data`, stored as the owner's asset like `PUT /v1/assets`) and from an
//! asset id; usage per key and day reports exactly these requests, generations, images and
//! credits.

use super::support::Form;
use super::support::{create_key, usage_of, KeyClient};
use crate::common::media::{png, sha256_hex};
use crate::common::{poll_for, send, Backend};
use crate::gen_support::{fake, request_of, server};
use iskra_fake_fal::Progress;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicI64, Ordering};

/// A key client that counts the requests it makes.
struct Counted {
    k: KeyClient,
    sent: AtomicI64,
}

impl Counted {
    async fn get(&self, path: &str) -> crate::common::Resp {
        self.sent.fetch_add(1, Ordering::SeqCst);
        self.k.get(path).await
    }
    async fn post(&self, path: &str, body: &Value) -> crate::common::Resp {
        self.sent.fetch_add(1, Ordering::SeqCst);
        self.k.post(path, body).await
    }
    async fn form(&self, path: &str, form: Form) -> crate::common::Resp {
        self.sent.fetch_add(1, Ordering::SeqCst);
        send(form.attach(self.k.request(Method::POST, path))).await
    }

    /// Polls the job until it is completed (fails on another final status).
    async fn wait_done(&self, job: &str) -> Value {
        poll_for(&format!("job {job} completed"), || async {
            let j = self
                .get(&format!("/v1/images/job/{job}"))
                .await
                .expect(200)
                .clone();
            match j["status"].as_str().unwrap() {
                "completed" => Some(j),
                "queued" | "running" => None,
                other => panic!("job ended {other}: {j}"),
            }
        })
        .await
    }
}

/// Downloads every output through its signed URL (no credentials) and checks the bytes.
async fn download_all(http: &reqwest::Client, job: &Value, n: usize) {
    let outputs = job["outputs"].as_array().expect("outputs");
    assert_eq!(outputs.len(), n, "{job}");
    for out in outputs {
        let url = out["url"].as_str().unwrap();
        let bytes = http.get(url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(sha256_hex(&bytes), out["id"].as_str().unwrap());
        assert_eq!(out["type"], "image");
    }
}

async fn generate_and_edit_with_a_key(b: Backend) {
    let fal = fake(Progress::Instant).await;
    let srv = server(b, &fal, |cfg| cfg.api_keys.requests_free.minute = 10_000).await;
    let alice = srv.user("alice");
    let created = create_key(&alice, "thumbnails", None).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let k = Counted {
        k: KeyClient::new(&srv, created["key"].as_str().unwrap()),
        sent: AtomicI64::new(0),
    };

    // Generate: 202 with a job id, then the images.
    let res = k
        .post(
            "/v1/images/generate",
            &json!({"prompt": "a red kite", "numImages": 2, "imageSize": "square_hd"}),
        )
        .await;
    let accepted = res.expect(202).clone();
    assert_eq!(accepted["status"], "queued", "{accepted}");
    let job = accepted["jobId"].as_str().unwrap().to_owned();
    let done = k.wait_done(&job).await;
    assert_eq!(done["prompt"], "a red kite");
    download_all(&srv.http, &done, 2).await;

    // Edit with an uploaded reference image (multipart): the upload becomes alice's asset and
    // fal gets it as the job's input image.
    let reference = png(64, 48, 7);
    let form =
        Form::default()
            .text("prompt", "make it blue")
            .file("image", "image/png", &reference);
    let accepted = k.form("/v1/images/edit", form).await.expect(202).clone();
    let edit_job = accepted["jobId"].as_str().unwrap().to_owned();
    let edited = k.wait_done(&edit_job).await;
    download_all(&srv.http, &edited, 1).await;
    alice
        .get(&format!("/v1/assets/{}", sha256_hex(&reference)))
        .await
        .expect(200);
    let sub = fal.submission(&request_of(&fal, "make it blue")).unwrap();
    assert!(sub.model.ends_with("image-to-image"), "{}", sub.model);

    // Edit from the asset id, as JSON.
    let accepted = k
        .post(
            "/v1/images/edit",
            &json!({"prompt": "now green", "imageAssetId": sha256_hex(&reference)}),
        )
        .await
        .expect(202)
        .clone();
    let json_edit = k.wait_done(accepted["jobId"].as_str().unwrap()).await;
    download_all(&srv.http, &json_edit, 1).await;

    // A job submitted with the bearer token is not the key's.
    let own = alice
        .post("/v1/images/generate", &json!({"prompt": "mine alone"}))
        .await
        .expect(202)
        .clone();
    k.wait_done(own["jobId"].as_str().unwrap()).await;

    // Usage of the key: every request it made, three generations, four images, the credits
    // the three jobs were charged.
    let charged: i64 = [&done, &edited, &json_edit]
        .iter()
        .map(|j| j["creditsCharged"].as_i64().expect("charged"))
        .sum();
    assert!(charged > 0);
    let total = usage_of(&alice, &id).await;
    assert_eq!(
        total,
        json!({
            "requests": k.sent.load(Ordering::SeqCst),
            "generations": 3,
            "images": 4,
            "creditsCharged": charged,
        })
    );
    let report = k.get("/v1/images/usage").await.expect(200).clone();
    let rows = report["items"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["keyId"], json!(id));
    assert_eq!(rows[0]["day"], json!(report["to"]));
    assert_eq!(rows[0]["generations"], 3);
}

backend_tests!(generate_and_edit_with_a_key);
