//! A local fake of fal (queue API, storage upload, Ed25519-signed webhooks) for tests.
//!
//! `FakeFal::start` binds a loopback port and serves, on one origin:
//! - the queue API at `queue_url()`: `POST /{model…}` (auth `Key`), then the `status_url`,
//!   `response_url` and `cancel_url` it answers (under `/q/{owner}/{app}/requests/{id}`, so a
//!   client that rebuilds URLs from the model id shows up in `naive_url_requests`);
//! - the REST API at `rest_url()` (`{base}/rest`): `storage/upload/initiate` and
//!   `.well-known/jwks.json`;
//! - files under `{base}/files/…` (outputs and uploads) and upload slots under `{base}/upload/…`;
//! - control endpoints under `{base}/_fake/…` (release, submissions, counters) for other processes.
//!
//! Progress is deterministic (see `Progress`); behaviour switches and counters live on the
//! handle (`controls.rs`, `counters.rs`).

mod admin;
mod config;
mod controls;
mod counters;
mod files;
mod job;
mod outputs;
mod queue;
mod server;
mod state;
mod webhook;

use std::io;
use std::sync::Arc;
use std::time::Duration;

pub use config::{DownMode, FakeConfig, OutputMode, Progress, ResultFailure, Route};
pub use files::HUGE_LEN;
pub use job::PAYLOAD_ERROR;
pub use outputs::{render_png, video_bytes};
pub use state::{Submission, UploadRecord};
pub use webhook::{
    signed_message, unix_now, CraftedWebhook, Tamper, WebhookRecord, HEADER_REQUEST_ID,
    HEADER_SIGNATURE, HEADER_TIMESTAMP, HEADER_USER_ID,
};

use state::Shared;

/// Aborts the server task when the last handle goes.
struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running fake; clones share it. The server stops when the last clone is dropped.
#[derive(Clone)]
pub struct FakeFal {
    shared: Arc<Shared>,
    _task: Arc<ServerTask>,
}

impl FakeFal {
    /// Starts on `config.listen` (on the current tokio runtime). Panics if it cannot bind.
    pub async fn start(config: FakeConfig) -> FakeFal {
        Self::try_start(config).await.expect("fake fal: bind")
    }

    /// Starts on `config.listen`, or the bind error.
    pub async fn try_start(config: FakeConfig) -> io::Result<FakeFal> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            addr.ip().to_string()
        };
        let base = match addr {
            std::net::SocketAddr::V6(_) => format!("http://[{host}]:{}", addr.port()),
            std::net::SocketAddr::V4(_) => format!("http://{host}:{}", addr.port()),
        };
        let key = config.key.unwrap_or_else(random_key);
        let shared = Shared::new(base, key, config.user_id)?;
        *state::lock(&shared.controls.progress) = config.progress;
        let task = tokio::spawn(server::serve(listener, shared.clone()));
        Ok(FakeFal {
            shared,
            _task: Arc::new(ServerTask(task)),
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    /// The queue API's base (fal's `https://queue.fal.run`): the same as `base_url`.
    pub fn queue_url(&self) -> String {
        self.shared.base.clone()
    }

    /// The REST API's base (fal's `https://rest.alpha.fal.ai`): `{base}/rest`.
    pub fn rest_url(&self) -> String {
        self.shared.rest_base()
    }

    /// `{rest}/.well-known/jwks.json`.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.shared.rest_base())
    }

    /// The API key it accepts (`Authorization: Key {key}`).
    pub fn key(&self) -> String {
        self.shared.key.clone()
    }

    /// The `X-Fal-Webhook-User-Id` it sends.
    pub fn user_id(&self) -> String {
        self.shared.user_id.clone()
    }

    /// The 32-byte Ed25519 public key that signs its webhooks (also in the JWKS).
    pub fn public_key(&self) -> [u8; 32] {
        self.shared.signer.public_key()
    }

    /// The `X-Fal-Webhook-*` headers (with a valid signature) for `body`.
    pub fn sign_webhook(
        &self,
        request_id: &str,
        body: &[u8],
        timestamp: i64,
    ) -> Vec<(String, String)> {
        self.shared
            .signer
            .headers(request_id, &self.shared.user_id, timestamp, body)
    }

    /// The webhook a completed job sent (or would have sent: also set for jobs submitted
    /// without `fal_webhook`), as a `CraftedWebhook` to replay or alter.
    pub fn completed_webhook(&self, request_id: &str) -> Option<CraftedWebhook> {
        let job = self.shared.jobs.get(request_id)?;
        let body = serde_json::from_slice(job.webhook_body.as_ref()?).ok()?;
        Some(CraftedWebhook::with_body(request_id, body))
    }

    /// Sends one crafted webhook to `url` (no retries) and returns what happened.
    pub async fn deliver_webhook(&self, url: &str, webhook: &CraftedWebhook) -> WebhookRecord {
        webhook::deliver_crafted(&self.shared, url, webhook).await
    }

    /// Waits until `cond` holds, re-checking on every change of the fake's state; false when
    /// `timeout` passes first.
    pub async fn wait_until(&self, timeout: Duration, cond: impl Fn(&FakeFal) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cond(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return cond(self);
            }
        }
    }
}

/// A key shaped like fal's (`{uuid}:{32 hex}`).
fn random_key() -> String {
    format!(
        "{}:{}",
        uuid::Uuid::new_v4(),
        hex::encode(rand::random::<[u8; 16]>())
    )
}
