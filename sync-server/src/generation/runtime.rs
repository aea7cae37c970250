//! What the generation pipeline holds for the life of the process: the fal client (none when
//! no key is configured), the webhook verifier, this replica's worker identity, the HTTP
//! client that downloads outputs, the clock of the server's own canvas writes, and the signal
//! that wakes idle workers when a job becomes due.

use crate::config::Config;
use crate::fal::{FalClient, FalConfig, WebhookVerifier};
use iskra_protocol::{Clock, Hlc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

/// Node id of the server's hybrid logical clock (its canvas writes).
const CLOCK_NODE: &str = "iskra-server";

/// The generation pipeline's long-lived parts.
pub struct Runtime {
    pub fal: Option<FalClient>,
    pub verifier: WebhookVerifier,
    /// Lease owner name of this process's workers.
    pub owner: String,
    /// Client for output downloads (no redirects to other schemes, bounded time).
    pub http: reqwest::Client,
    /// The sync `clientId` of the server's own canvas writes.
    pub client_id: Uuid,
    clock: Mutex<Clock>,
    wake: Arc<Notify>,
}

impl Runtime {
    pub fn new(config: &Config) -> Result<Self, reqwest::Error> {
        let g = &config.generation;
        let timeout = Duration::from_secs(g.fal_timeout_secs);
        let fal_http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout)
            .build()?;
        let fal = config
            .fal_key
            .as_ref()
            .filter(|k| !k.is_empty())
            .map(|key| {
                FalClient::new(
                    FalConfig {
                        key: key.clone(),
                        queue_url: config.fal_queue_url.trim_end_matches('/').to_owned(),
                        rest_url: config.fal_rest_url.trim_end_matches('/').to_owned(),
                        jwks_url: config.fal_jwks_url.clone(),
                        circuit_failures: g.circuit_failures,
                        circuit_open: Duration::from_secs(g.circuit_open_secs),
                        request_timeout: timeout,
                    },
                    fal_http.clone(),
                )
            });
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Self {
            fal,
            verifier: WebhookVerifier::new(config.fal_jwks_url.clone(), fal_http),
            owner: format!("worker-{}", Uuid::new_v4()),
            http,
            client_id: Uuid::new_v5(&Uuid::NAMESPACE_URL, b"iskra-server/generation"),
            clock: Mutex::new(Clock::new(CLOCK_NODE)),
            wake: Arc::new(Notify::new()),
        })
    }

    /// Wakes the idle workers of this process (a job became due).
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    /// The signal idle workers wait on.
    pub fn wake_signal(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// A server clock reading later than every clock in `seen`.
    pub fn tick_after<'a>(&self, seen: impl IntoIterator<Item = &'a Hlc>) -> Hlc {
        let mut clock = self.clock.lock().unwrap_or_else(|e| e.into_inner());
        for c in seen {
            clock.observe(c);
        }
        clock.tick(crate::store::now_ms().max(0) as u64)
    }
}
