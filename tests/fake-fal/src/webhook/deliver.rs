//! Webhook delivery: signed POSTs with bounded retries on non-2xx, duplicates and suppression on
//! request, each attempt recorded; plus crafted deliveries (bad signature, old timestamp, …) for
//! tests of the receiver's verification.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};

use super::sign::{unix_now, Signer, HEADER_SIGNATURE};
use crate::job::{PendingWebhook, PAYLOAD_ERROR};
use crate::state::{lock, Shared};

/// Attempts per delivery (the first plus retries) and the first backoff (doubled each time).
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(25);

/// One delivery attempt, as recorded by the fake.
#[derive(Clone, Debug)]
pub struct WebhookRecord {
    pub request_id: String,
    pub url: String,
    /// 1 for the first attempt of a delivery, 2 for its first retry, …
    pub attempt: u32,
    /// The HTTP status the receiver answered; `None` when the request itself failed.
    pub status: Option<u16>,
    /// The transport error, when there was no answer.
    pub error: Option<String>,
    /// Whether it was a crafted delivery (`FakeFal::deliver_webhook`).
    pub crafted: bool,
    /// The raw body sent.
    pub body: Bytes,
}

impl WebhookRecord {
    /// Answered with a 2xx.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A deliberate defect in a crafted webhook.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Tamper {
    /// Correctly signed.
    #[default]
    None,
    /// The signature with one byte flipped.
    BadSignature,
    /// Signed with another (random) Ed25519 key.
    WrongKey,
    /// No `X-Fal-Webhook-Signature` header.
    NoSignature,
    /// Signed over the body, then this body sent instead.
    BodySwapped(Vec<u8>),
}

/// A webhook built by a test, sent with `FakeFal::deliver_webhook`.
#[derive(Clone, Debug)]
pub struct CraftedWebhook {
    /// The `X-Fal-Webhook-Request-Id` header (and signed request id).
    pub request_id: String,
    /// The JSON body (ignored when `raw_body` is set).
    pub body: Value,
    /// Raw bytes to send (and sign) instead of `body`.
    pub raw_body: Option<Vec<u8>>,
    /// Unix seconds; now when `None`.
    pub timestamp: Option<i64>,
    pub tamper: Tamper,
}

impl CraftedWebhook {
    /// `status: OK` with `payload`.
    pub fn ok(request_id: &str, payload: Value) -> Self {
        Self::with_body(
            request_id,
            json!({
                "request_id": request_id, "gateway_request_id": request_id,
                "status": "OK", "payload": payload,
            }),
        )
    }

    /// `status: ERROR`, `error: "Invalid status code: {status}"` with `payload`.
    pub fn error(request_id: &str, status: u16, payload: Value) -> Self {
        Self::with_body(
            request_id,
            json!({
                "request_id": request_id, "gateway_request_id": request_id, "status": "ERROR",
                "error": format!("Invalid status code: {status}"), "payload": payload,
            }),
        )
    }

    /// `status: OK` with `payload: null` and fal's `payload_error`.
    pub fn payload_error(request_id: &str) -> Self {
        Self::with_body(
            request_id,
            json!({
                "request_id": request_id, "gateway_request_id": request_id, "status": "OK",
                "payload": null, "payload_error": PAYLOAD_ERROR,
            }),
        )
    }

    /// Any JSON body.
    pub fn with_body(request_id: &str, body: Value) -> Self {
        CraftedWebhook {
            request_id: request_id.into(),
            body,
            raw_body: None,
            timestamp: None,
            tamper: Tamper::None,
        }
    }

    /// Sets `gateway_request_id` in the body (as after a retry on fal's side).
    pub fn gateway_request_id(mut self, id: &str) -> Self {
        self.body["gateway_request_id"] = json!(id);
        self
    }

    pub fn timestamp(mut self, unix_seconds: i64) -> Self {
        self.timestamp = Some(unix_seconds);
        self
    }

    pub fn tamper(mut self, tamper: Tamper) -> Self {
        self.tamper = tamper;
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.raw_body
            .clone()
            .unwrap_or_else(|| serde_json::to_vec(&self.body).unwrap())
    }
}

/// Sends a completed job's webhook (unless suppressed), `duplicate_webhooks` times, each with
/// retries. Runs on its own task.
pub(crate) fn spawn_delivery(shared: &Arc<Shared>, pending: PendingWebhook) {
    if shared.controls.suppress_webhooks.load(Ordering::Relaxed) {
        return;
    }
    let copies = shared
        .controls
        .duplicate_webhooks
        .load(Ordering::Relaxed)
        .max(1);
    let shared = shared.clone();
    tokio::spawn(async move {
        for _ in 0..copies {
            deliver_with_retries(&shared, &pending).await;
        }
    });
}

async fn deliver_with_retries(shared: &Shared, p: &PendingWebhook) {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let headers = shared
            .signer
            .headers(&p.request_id, &shared.user_id, unix_now(), &p.body);
        let rec = post(
            shared,
            &p.url,
            &p.request_id,
            headers,
            p.body.clone(),
            attempt,
            false,
        )
        .await;
        if rec.delivered() {
            return;
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
}

/// One attempt; records it and returns the record.
async fn post(
    shared: &Shared,
    url: &str,
    request_id: &str,
    headers: Vec<(String, String)>,
    body: Bytes,
    attempt: u32,
    crafted: bool,
) -> WebhookRecord {
    let mut req = shared
        .http
        .post(url)
        .header("content-type", "application/json")
        .body(body.clone());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let (status, error) = match req.send().await {
        Ok(resp) => (Some(resp.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let rec = WebhookRecord {
        request_id: request_id.into(),
        url: url.into(),
        attempt,
        status,
        error,
        crafted,
        body,
    };
    lock(&shared.counters.webhooks).push(rec.clone());
    shared.touch();
    rec
}

/// Sends a crafted webhook once (no retries) and returns its record.
pub(crate) async fn deliver_crafted(
    shared: &Shared,
    url: &str,
    w: &CraftedWebhook,
) -> WebhookRecord {
    let signed_body = w.bytes();
    let ts = w.timestamp.unwrap_or_else(unix_now);
    let mut headers = match &w.tamper {
        Tamper::WrongKey => {
            Signer::random().headers(&w.request_id, &shared.user_id, ts, &signed_body)
        }
        _ => shared
            .signer
            .headers(&w.request_id, &shared.user_id, ts, &signed_body),
    };
    let mut sent_body = signed_body;
    match &w.tamper {
        Tamper::BadSignature => {
            for (k, v) in headers.iter_mut() {
                if k == HEADER_SIGNATURE {
                    let mut raw = hex::decode(&*v).unwrap();
                    raw[0] ^= 0x01;
                    *v = hex::encode(raw);
                }
            }
        }
        Tamper::NoSignature => headers.retain(|(k, _)| k != HEADER_SIGNATURE),
        Tamper::BodySwapped(b) => sent_body = b.clone(),
        Tamper::None | Tamper::WrongKey => {}
    }
    post(
        shared,
        url,
        &w.request_id,
        headers,
        Bytes::from(sent_body),
        1,
        true,
    )
    .await
}
