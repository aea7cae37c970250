//! The state shared by the handlers and the handle: jobs, uploads, controls and counters. Locks
//! are short and never held across an `.await`.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use serde_json::Value;
use tokio::sync::Notify;

use crate::config::{DownMode, OutputMode, Progress, ResultFailure, Route};
use crate::job::Job;
use crate::webhook::{Signer, WebhookRecord};

/// One accepted submit, as the test sees it.
#[derive(Clone, Debug)]
pub struct Submission {
    pub request_id: String,
    /// The full model id from the submit path, e.g. `fal-ai/flux/dev/image-to-image`.
    pub model: String,
    /// The JSON body of the submit (the model input), shared with the job.
    pub input: Arc<Value>,
    /// The `fal_webhook` query parameter, if any.
    pub webhook_url: Option<String>,
}

/// One file uploaded through the storage API.
#[derive(Clone, Debug)]
pub struct UploadRecord {
    pub file_name: String,
    pub content_type: String,
    pub file_url: String,
    pub len: usize,
}

/// An upload slot created by `initiate`, filled by the `PUT`.
pub(crate) struct Upload {
    pub file_name: String,
    pub content_type: String,
    pub file_url: String,
    pub bytes: Option<Bytes>,
}

/// A failure injected into the next `remaining` requests of a route.
pub(crate) struct FailRule {
    pub route: Route,
    pub remaining: usize,
    pub status: u16,
}

/// Behaviour switches, read by handlers on every request.
#[derive(Default)]
pub(crate) struct Controls {
    pub progress: Mutex<Progress>,
    pub fail_rules: Mutex<Vec<FailRule>>,
    /// A `DownMode` as u8 (0 up, 1 unavailable, 2 close).
    pub down: AtomicU8,
    pub reject_submits: Mutex<Option<(u16, Value)>>,
    pub result_failure: Mutex<ResultFailure>,
    /// Jobs whose prompt contains the text fail this way, whatever `result_failure` says.
    pub prompt_failure: Mutex<Option<(String, ResultFailure)>>,
    pub unknown_status_once: AtomicBool,
    pub output_mode: Mutex<OutputMode>,
    pub duplicate_webhooks: AtomicUsize,
    pub webhook_payload_error: AtomicBool,
    pub suppress_webhooks: AtomicBool,
    pub webhook_gateway_retry: AtomicBool,
    pub strict_urls: AtomicBool,
}

impl Controls {
    pub fn down(&self) -> DownMode {
        match self.down.load(Ordering::Relaxed) {
            1 => DownMode::Unavailable,
            2 => DownMode::CloseConnection,
            _ => DownMode::Up,
        }
    }

    pub fn set_down(&self, mode: DownMode) {
        let v = match mode {
            DownMode::Up => 0,
            DownMode::Unavailable => 1,
            DownMode::CloseConnection => 2,
        };
        self.down.store(v, Ordering::Relaxed);
    }

    /// Consumes one injected failure aimed at `route`, if any is pending.
    pub fn take_failure(&self, route: Route) -> Option<u16> {
        let mut rules = lock(&self.fail_rules);
        let rule = rules
            .iter_mut()
            .find(|r| r.remaining > 0 && (r.route == Route::Any || r.route == route))?;
        rule.remaining -= 1;
        let status = rule.status;
        rules.retain(|r| r.remaining > 0);
        Some(status)
    }
}

/// Counters for exactly-once assertions.
#[derive(Default)]
pub(crate) struct Counters {
    pub requests: AtomicUsize,
    pub injected_failures: AtomicUsize,
    pub rejected_submits: AtomicUsize,
    pub status_polls: AtomicUsize,
    pub result_fetches: AtomicUsize,
    pub naive_url_requests: AtomicUsize,
    pub submissions: Mutex<Vec<Submission>>,
    pub per_prompt: DashMap<String, usize>,
    pub cancels: Mutex<Vec<String>>,
    pub uploads: Mutex<Vec<UploadRecord>>,
    pub webhooks: Mutex<Vec<WebhookRecord>>,
}

/// Everything the server and the handle share.
pub(crate) struct Shared {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    pub key: String,
    pub user_id: String,
    /// A loopback URL nothing listens on (for `OutputMode::Refused`).
    pub dead_base: String,
    /// Holds the port of `dead_base`: bound, never listening, so connections are refused and
    /// no one else gets the port.
    _dead_socket: tokio::net::TcpSocket,
    pub signer: Signer,
    pub http: reqwest::Client,
    pub jobs: DashMap<String, Job>,
    pub uploads: DashMap<String, Upload>,
    pub controls: Controls,
    pub counters: Counters,
    /// Woken on every change a test might wait for.
    pub changed: Notify,
}

impl Shared {
    pub fn new(base: String, key: String, user_id: String) -> std::io::Result<Arc<Self>> {
        let dead_socket = tokio::net::TcpSocket::new_v4()?;
        dead_socket.bind(([127, 0, 0, 1], 0).into())?;
        let dead_base = format!("http://127.0.0.1:{}", dead_socket.local_addr()?.port());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .expect("reqwest client");
        Ok(Arc::new(Shared {
            base,
            key,
            user_id,
            dead_base,
            _dead_socket: dead_socket,
            signer: Signer::random(),
            http,
            jobs: DashMap::new(),
            uploads: DashMap::new(),
            controls: Controls::default(),
            counters: Counters::default(),
            changed: Notify::new(),
        }))
    }

    pub fn rest_base(&self) -> String {
        format!("{}/rest", self.base)
    }

    /// Wakes everyone in `FakeFal::wait_until`.
    pub fn touch(&self) {
        self.changed.notify_waiters();
    }

    pub fn bump(&self, counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::Relaxed);
        self.touch();
    }
}

/// Locks a std mutex, ignoring poisoning (a panicked test thread must not cascade).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
