//! One queued request: its deterministic progress (driven by polls, a hold, a timer or nothing)
//! and its outcome, fixed once at completion so polls, results and webhooks agree.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::config::{Progress, ResultFailure};
use crate::outputs;
use crate::state::{lock, Shared};

/// What a status poll reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    InQueue { position: u32 },
    InProgress,
    Completed,
}

/// How a finished job answers `GET response_url`.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    /// 200 with the model output.
    Ok(Value),
    /// `status` with `body` (a validation detail or an error body).
    Failed { status: u16, body: Value },
    /// Cancelled before it finished.
    Cancelled,
}

/// A webhook to send once the job's lock is released.
pub(crate) struct PendingWebhook {
    pub url: String,
    pub request_id: String,
    pub body: Bytes,
}

pub(crate) struct Job {
    pub id: String,
    pub model: String,
    /// `{owner}/{app}`: what fal puts in status/result/cancel URLs (no endpoint path).
    pub app: String,
    pub input: Arc<Value>,
    pub webhook: Option<String>,
    pub progress: Progress,
    pub polls: u32,
    pub outcome: Option<Outcome>,
    /// The body of the webhook sent (or that would have been sent) at completion.
    pub webhook_body: Option<Bytes>,
}

impl Job {
    pub fn new(
        id: String,
        model: String,
        input: Arc<Value>,
        webhook: Option<String>,
        progress: Progress,
    ) -> Self {
        let app = model.split('/').take(2).collect::<Vec<_>>().join("/");
        Job {
            id,
            model,
            app,
            input,
            webhook,
            progress,
            polls: 0,
            outcome: None,
            webhook_body: None,
        }
    }

    /// `{base}/q/{owner}/{app}/requests/{id}`: deliberately not what a client would rebuild from
    /// the model id (the extra `q/` prefix and no endpoint path).
    pub fn response_url(&self, base: &str) -> String {
        format!("{base}/q/{}/requests/{}", self.app, self.id)
    }

    pub fn is_video(&self) -> bool {
        self.model.contains("video")
    }

    pub fn prompt(&self) -> &str {
        self.input
            .get("prompt")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn is_completed(&self) -> bool {
        self.outcome.is_some()
    }

    /// Completes on submit for `Instant` and for `Polls` with no steps.
    pub fn completes_on_submit(&self) -> bool {
        matches!(
            self.progress,
            Progress::Instant
                | Progress::Polls {
                    queue_polls: 0,
                    progress_polls: 0
                }
        )
    }

    /// One status poll: advances the progress model and reports the phase. A poll that moves a
    /// `Polls` job to completion returns the webhook to send.
    pub fn poll(&mut self, shared: &Shared) -> (Phase, Option<PendingWebhook>) {
        let n = self.polls;
        self.polls = self.polls.saturating_add(1);
        if self.is_completed() {
            return (Phase::Completed, None);
        }
        match self.progress {
            Progress::Polls {
                queue_polls,
                progress_polls,
            } => {
                if n < queue_polls {
                    let position = queue_polls - 1 - n;
                    (Phase::InQueue { position }, None)
                } else if n < queue_polls.saturating_add(progress_polls) {
                    (Phase::InProgress, None)
                } else {
                    (Phase::Completed, self.complete(shared))
                }
            }
            Progress::Hold | Progress::Delay(_) if n == 0 => (Phase::InQueue { position: 0 }, None),
            Progress::Hold | Progress::Delay(_) => (Phase::InProgress, None),
            Progress::Instant => (Phase::Completed, self.complete(shared)),
        }
    }

    /// Fixes the outcome with the modes in force now; returns the webhook to send, if the submit
    /// asked for one. Does nothing on a job already completed.
    pub fn complete(&mut self, shared: &Shared) -> Option<PendingWebhook> {
        if self.is_completed() {
            return None;
        }
        let prompt = self
            .input
            .get("prompt")
            .and_then(Value::as_str)
            .unwrap_or("");
        let failure = match &*lock(&shared.controls.prompt_failure) {
            Some((marker, mode)) if prompt.contains(marker.as_str()) => mode.clone(),
            _ => lock(&shared.controls.result_failure).clone(),
        };
        let outcome = match failure {
            ResultFailure::None => {
                let mode = *lock(&shared.controls.output_mode);
                Outcome::Ok(outputs::model_output(self, shared, mode))
            }
            ResultFailure::Validation => Outcome::Failed {
                status: 422,
                body: json!({"detail": [{
                    "loc": ["body", "prompt"],
                    "msg": "The prompt was flagged by the content checker",
                    "type": "value_error"
                }]}),
            },
            ResultFailure::ErrorBody { status } => Outcome::Failed {
                status,
                body: json!({
                    "error": "Internal error while running the model",
                    "error_type": "internal_server_error"
                }),
            },
        };
        self.outcome = Some(outcome);
        let body = Bytes::from(serde_json::to_vec(&self.webhook_json(shared)).unwrap());
        self.webhook_body = Some(body.clone());
        let url = self.webhook.clone()?;
        Some(PendingWebhook {
            url,
            request_id: self.id.clone(),
            body,
        })
    }

    /// Marks a not-yet-completed job cancelled (no webhook is sent for it).
    pub fn cancel(&mut self) -> bool {
        if self.is_completed() {
            return false;
        }
        self.outcome = Some(Outcome::Cancelled);
        true
    }

    /// The webhook body fal sends for this job's outcome.
    fn webhook_json(&self, shared: &Shared) -> Value {
        let gateway = if shared
            .controls
            .webhook_gateway_retry
            .load(Ordering::Relaxed)
        {
            uuid::Uuid::new_v4().to_string()
        } else {
            self.id.clone()
        };
        match &self.outcome {
            Some(Outcome::Ok(_))
                if shared
                    .controls
                    .webhook_payload_error
                    .load(Ordering::Relaxed) =>
            {
                json!({
                    "request_id": self.id, "gateway_request_id": gateway, "status": "OK",
                    "payload": null, "payload_error": PAYLOAD_ERROR,
                })
            }
            Some(Outcome::Ok(v)) => json!({
                "request_id": self.id, "gateway_request_id": gateway, "status": "OK", "payload": v,
            }),
            Some(Outcome::Failed { status, body }) if *status < 400 => json!({
                "request_id": self.id, "gateway_request_id": gateway, "status": "OK", "payload": body,
            }),
            Some(Outcome::Failed { status, body }) => json!({
                "request_id": self.id, "gateway_request_id": gateway, "status": "ERROR",
                "error": format!("Invalid status code: {status}"), "payload": body,
            }),
            Some(Outcome::Cancelled) | None => json!({
                "request_id": self.id, "gateway_request_id": gateway, "status": "ERROR",
                "error": "Request was cancelled", "payload": null,
            }),
        }
    }
}

/// fal's `payload_error` text for an output it could not serialise.
pub const PAYLOAD_ERROR: &str = "Response payload is not JSON serializable. Either return a JSON \
serializable object or use the queue endpoint to retrieve the response.";
