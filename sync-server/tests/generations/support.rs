//! Shared set-up of the generation tests: a server wired to a fake fal, and helpers to submit
//! and wait for jobs.

use crate::common::{Backend, TestServer, User, WAIT};
use iskra_fake_fal::{FakeConfig, FakeFal, Progress};
use iskra_server::Config;
use serde_json::{json, Value};
use uuid::Uuid;

/// A fake fal with `progress`.
pub async fn fake(progress: Progress) -> FakeFal {
    FakeFal::start(FakeConfig::with_progress(progress)).await
}

/// Points `cfg` at `fal`, with quick polling and a short circuit-open period.
pub fn wire(cfg: &mut Config, fal: &FakeFal) {
    cfg.fal_key = Some(fal.key());
    cfg.fal_queue_url = fal.queue_url();
    cfg.fal_rest_url = fal.rest_url();
    cfg.fal_jwks_url = fal.jwks_url();
    cfg.generation.poll_interval_ms = 20;
    cfg.generation.circuit_open_secs = 1;
    cfg.generation.workers = 4;
}

/// A server on `b` wired to `fal`; `tweak` adjusts the configuration after that.
pub async fn server(b: Backend, fal: &FakeFal, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let fal = fal.clone();
    TestServer::start(b, move |cfg| {
        wire(cfg, &fal);
        tweak(cfg);
    })
    .await
}

/// Submits a text-to-image request (202 expected) and returns the generation.
pub async fn submit(user: &User, body: Value) -> Value {
    let res = user.post("/v1/generations", &body).await;
    res.expect(202).clone()
}

/// A minimal text-to-image request body.
pub fn text(prompt: &str) -> Value {
    json!({ "kind": "text-to-image", "prompt": prompt })
}

/// Waits until generation `id` reaches `status` (fails the test on another final status).
pub async fn wait_status(user: &User, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let g = user
            .get(&format!("/v1/generations/{id}"))
            .await
            .expect(200)
            .clone();
        let now = g["status"].as_str().unwrap_or_default().to_owned();
        if now == status {
            return g;
        }
        let ended = matches!(now.as_str(), "completed" | "failed" | "canceled");
        assert!(!ended, "generation ended {now}, not {status}: {g}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until generation {id} is {status}: {g}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Places a placeholder element (kind `generation`) on `project` and returns its id.
pub async fn placeholder(user: &User, project: Uuid, x: f64, y: f64) -> Uuid {
    let id = Uuid::new_v4();
    let body = json!({
        "clientId": Uuid::new_v4(),
        "since": null,
        "changes": [{
            "opId": Uuid::new_v4(),
            "elementId": id,
            "set": {"kind": "generation", "x": x, "y": y, "width": 256.0, "height": 256.0, "z": "a5"},
            "clock": "0001700000000000-000000-device1"
        }]
    });
    user.post(&format!("/v1/projects/{project}/sync"), &body)
        .await
        .expect(200);
    id
}

/// The `requestId` fal got for the job with this prompt.
pub fn request_of(fal: &FakeFal, prompt: &str) -> String {
    fal.submissions()
        .into_iter()
        .find(|s| s.input["prompt"] == prompt)
        .map(|s| s.request_id)
        .unwrap_or_else(|| panic!("fal never got a request for {prompt:?}"))
}
