//! The server's generation endpoints, faked for tests: `GET /v1/models`, `POST
//! /v1/generations` with its `Idempotency-Key` rules (a repeat answers the same generation, the
//! same key with another body is a 409), `GET` one or a list, `DELETE` (409 once ended). Tests
//! move jobs along their life ([`FakeGenerations::set_status`], [`FakeGenerations::complete`],
//! [`FakeGenerations::fail`]), refuse the next submit (a 429 with its window, a 403) or lose
//! the answer to one. Plugs into a [`FakeServer`](super::fake_server::FakeServer) handler:
//! [`FakeGenerations::handle`] answers these routes and leaves the rest to the caller.
//!
//! Free of `crate::` paths, so the CLI tests include this file (and `fake_server.rs`) too.

use super::fake_server::{Req, Resp};
use iskra_protocol::{
    Asset, AssetGeneration, AssetSource, AssetType, Generation, GenerationError, GenerationKind,
    GenerationStatus, ModelInfo, NewGeneration,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// A canned refusal of the next submit.
struct Refusal {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
}

struct Job {
    key: String,
    body: Value,
    generation: Generation,
}

#[derive(Default)]
struct State {
    jobs: Vec<Job>,
    refusals: Vec<Refusal>,
    lose_next_answer: bool,
    posts: usize,
}

/// The fake's jobs and controls (share it with the server's handler through the `Arc`).
#[derive(Default)]
pub struct FakeGenerations {
    state: Mutex<State>,
}

const NOW: &str = "2026-11-30T12:00:00.000Z";

/// The catalogue the fake lists: one default model per kind.
pub fn models() -> Vec<ModelInfo> {
    let model = |id: &str, kind, max_images, sizes: &[&str]| ModelInfo {
        id: id.into(),
        kind,
        label: id.to_uppercase(),
        default: true,
        max_images,
        sizes: sizes.iter().map(|s| (*s).to_owned()).collect(),
    };
    vec![
        model(
            "test/text-to-image",
            GenerationKind::TextToImage,
            4,
            &["square_hd", "landscape_16_9"],
        ),
        model(
            "test/image-to-image",
            GenerationKind::ImageToImage,
            4,
            &["square_hd"],
        ),
        model("test/image-to-video", GenerationKind::ImageToVideo, 1, &[]),
    ]
}

fn output(g: &Generation, index: usize) -> Asset {
    let id = hex::encode(Sha256::digest(format!("{}-{index}", g.id)));
    Asset {
        url: format!("http://fake/{id}"),
        id,
        asset_type: AssetType::Image,
        mime_type: "image/png".into(),
        size_bytes: 70,
        width: 1024,
        height: 1024,
        duration_ms: None,
        created_at: NOW.into(),
        source: AssetSource::Generation,
        generation: Some(AssetGeneration {
            generation_id: g.id,
            prompt: g.prompt.clone(),
            model: g.model.clone(),
            seed: g.params.seed,
        }),
    }
}

fn json_of(g: &Generation) -> Value {
    serde_json::to_value(g).unwrap_or_default()
}

impl FakeGenerations {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers a generation route; `None` for any other request.
    pub fn handle(&self, req: &Req) -> Option<Resp> {
        let path = req.path.split('?').next().unwrap_or("");
        let id = path
            .strip_prefix("/v1/generations/")
            .and_then(|s| Uuid::parse_str(s).ok());
        Some(match (req.method.as_str(), path, id) {
            ("GET", "/v1/models", _) => Resp::json(200, json!({ "items": models() })),
            ("POST", "/v1/generations", _) => self.submit(req),
            ("GET", "/v1/generations", _) => {
                let mut items: Vec<Value> = self
                    .state()
                    .jobs
                    .iter()
                    .map(|j| json_of(&j.generation))
                    .collect();
                items.reverse();
                Resp::json(200, json!({ "items": items, "nextCursor": null }))
            }
            ("GET", _, Some(id)) => match self.get(id) {
                Some(g) => Resp::json(200, json_of(&g)),
                None => Resp::error(404, "NOT_FOUND", "no such generation"),
            },
            ("DELETE", _, Some(id)) => self.cancel(id),
            _ => return None,
        })
    }

    fn submit(&self, req: &Req) -> Resp {
        let Some(key) = req.header("idempotency-key").map(str::to_owned) else {
            return Resp::error(400, "BAD_REQUEST", "Idempotency-Key is required");
        };
        let mut st = self.state();
        st.posts += 1;
        if !st.refusals.is_empty() {
            let r = st.refusals.remove(0);
            let resp = Resp::json(r.status, r.body);
            return match r.retry_after {
                Some(s) => resp.with_header("retry-after", &s.to_string()),
                None => resp,
            };
        }
        let body = req.json();
        let Ok(new) = serde_json::from_value::<NewGeneration>(body.clone()) else {
            return Resp::error(422, "VALIDATION_FAILED", "body is not a generation request");
        };
        if let Err((field, message)) = new.validate() {
            return Resp::error(422, "VALIDATION_FAILED", &format!("{field} {message}"));
        }
        if let Some(job) = st.jobs.iter().find(|j| j.key == key) {
            return if job.body == body {
                Resp::json(202, json_of(&job.generation))
            } else {
                Resp::error(409, "CONFLICT", "Idempotency-Key reused with another body")
            };
        }
        let ahead = st
            .jobs
            .iter()
            .filter(|j| !j.generation.status.is_terminal())
            .count();
        let model = new.model.clone().unwrap_or_else(|| {
            let m = models().into_iter().find(|m| m.kind == new.kind);
            m.map(|m| m.id).unwrap_or_default()
        });
        let generation = Generation {
            id: Uuid::new_v4(),
            kind: new.kind,
            status: GenerationStatus::Queued,
            prompt: new.prompt.clone(),
            model,
            params: new.params.clone().unwrap_or_default(),
            image_asset_id: new.image_asset_id.clone(),
            project_id: new.project_id,
            element_id: new.element_id,
            created_at: NOW.into(),
            started_at: None,
            completed_at: None,
            queue_position: Some(ahead as i64),
            error: None,
            outputs: Vec::new(),
            credits: None,
        };
        let answer = json_of(&generation);
        st.jobs.push(Job {
            key,
            body,
            generation,
        });
        if std::mem::take(&mut st.lose_next_answer) {
            return Resp::error(503, "INTERNAL", "the answer was lost on the way");
        }
        Resp::json(202, answer)
    }

    fn cancel(&self, id: Uuid) -> Resp {
        let mut st = self.state();
        let Some(job) = st.jobs.iter_mut().find(|j| j.generation.id == id) else {
            return Resp::error(404, "NOT_FOUND", "no such generation");
        };
        let g = &mut job.generation;
        if g.status.is_terminal() {
            return Resp::error(409, "CONFLICT", "the generation has already ended");
        }
        g.status = GenerationStatus::Canceled;
        g.queue_position = None;
        g.error = Some(GenerationError {
            code: "CANCELED".into(),
            message: "canceled by the user".into(),
        });
        Resp::json(200, json_of(g))
    }

    fn update(&self, id: Uuid, f: impl FnOnce(&mut Generation)) -> Generation {
        let mut st = self.state();
        let job = st.jobs.iter_mut().find(|j| j.generation.id == id);
        let g = &mut job.expect("no such fake generation").generation;
        f(g);
        g.clone()
    }

    /// One job as the server reports it.
    pub fn get(&self, id: Uuid) -> Option<Generation> {
        let st = self.state();
        st.jobs
            .iter()
            .find(|j| j.generation.id == id)
            .map(|j| j.generation.clone())
    }

    /// Every job, oldest first.
    pub fn generations(&self) -> Vec<Generation> {
        self.state()
            .jobs
            .iter()
            .map(|j| j.generation.clone())
            .collect()
    }

    /// `(Idempotency-Key, body)` of every job.
    pub fn submissions(&self) -> Vec<(String, Value)> {
        let st = self.state();
        st.jobs
            .iter()
            .map(|j| (j.key.clone(), j.body.clone()))
            .collect()
    }

    /// `POST /v1/generations` requests received (refused and repeated ones included).
    pub fn posts(&self) -> usize {
        self.state().posts
    }

    /// Moves a job to `status` (queued or running) at `position`.
    pub fn set_status(
        &self,
        id: Uuid,
        status: GenerationStatus,
        position: Option<i64>,
    ) -> Generation {
        self.update(id, |g| {
            g.status = status;
            g.queue_position = position;
        })
    }

    /// Completes a job with `n` image outputs.
    pub fn complete(&self, id: Uuid, n: usize) -> Generation {
        self.update(id, |g| {
            g.status = GenerationStatus::Completed;
            g.queue_position = None;
            g.completed_at = Some(NOW.into());
            g.outputs = (0..n).map(|i| output(g, i)).collect();
        })
    }

    /// Fails a job with fal's code and message.
    pub fn fail(&self, id: Uuid, code: &str, message: &str) -> Generation {
        self.update(id, |g| {
            g.status = GenerationStatus::Failed;
            g.queue_position = None;
            g.error = Some(GenerationError {
                code: code.into(),
                message: message.into(),
            });
        })
    }

    /// Refuses the next submit with `status` and an error body (`{"error": detail}`).
    pub fn refuse_next(&self, status: u16, detail: Value, retry_after: Option<u64>) {
        self.state().refusals.push(Refusal {
            status,
            body: json!({ "error": detail }),
            retry_after,
        });
    }

    /// Refuses the next submit with `429 RATE_LIMITED` for the daily window of `limit`.
    pub fn rate_limit_next(&self, limit: i64, resets_at: &str) {
        let detail = json!({
            "code": "RATE_LIMITED", "message": format!("{limit} generations a day on the free tier"),
            "window": "day", "limit": limit, "used": limit, "remaining": 0,
            "resetsAt": resets_at, "tier": "free", "upgradeUrl": "https://iskra.example/upgrade"
        });
        self.refuse_next(429, detail, Some(3600));
    }

    /// Records the next submit but answers 503, as if the answer were lost on the way.
    pub fn lose_next_answer(&self) {
        self.state().lose_next_answer = true;
    }

    /// A `generation.updated` server-sent event of a job's current state.
    pub fn event(&self, id: Uuid, event_id: u64) -> String {
        let g = self.get(id).expect("no such fake generation");
        let data = json!({ "generation": g });
        format!("id: {event_id}\nevent: generation.updated\ndata: {data}\n\n")
    }
}
