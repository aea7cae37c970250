//! Helpers shared by the integration tests: an HTTP client speaking to the fake, a webhook
//! receiver, and fal's signature check done the way a receiver would (JWKS + verify_strict).

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use iskra_fake_fal::{signed_message, FakeConfig, FakeFal, Progress};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

pub const WAIT: Duration = Duration::from_secs(10);

pub async fn fake(progress: Progress) -> FakeFal {
    FakeFal::start(FakeConfig::with_progress(progress)).await
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A response: status and JSON body (`Null` when not JSON).
pub struct Answer {
    pub status: u16,
    pub json: Value,
}

async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let json = resp.json().await.unwrap_or(Value::Null);
    Answer { status, json }
}

pub async fn submit_to(fal: &FakeFal, model: &str, input: Value, webhook: Option<&str>) -> Answer {
    let mut req = http().post(format!("{}/{model}", fal.queue_url()));
    if let Some(w) = webhook {
        req = req.query(&[("fal_webhook", w)]);
    }
    let resp = req
        .header("authorization", format!("Key {}", fal.key()))
        .json(&input)
        .send()
        .await
        .unwrap();
    answer(resp).await
}

/// Submits and expects a 200.
pub async fn submit(fal: &FakeFal, model: &str, input: Value) -> Value {
    let a = submit_to(fal, model, input, None).await;
    assert_eq!(a.status, 200, "{}", a.json);
    a.json
}

pub async fn get(fal: &FakeFal, url: &str) -> Answer {
    let resp = http()
        .get(url)
        .header("authorization", format!("Key {}", fal.key()))
        .send()
        .await
        .unwrap();
    answer(resp).await
}

pub async fn put(fal: &FakeFal, url: &str) -> Answer {
    let resp = http()
        .put(url)
        .header("authorization", format!("Key {}", fal.key()))
        .send()
        .await
        .unwrap();
    answer(resp).await
}

pub async fn bytes(url: &str) -> (u16, Option<String>, Vec<u8>) {
    let resp = http().get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

/// Polls the status URL until COMPLETED (bounded), returning every status seen.
pub async fn poll_to_completion(fal: &FakeFal, status_url: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..100 {
        let a = get(fal, status_url).await;
        let s = a.json["status"].as_str().unwrap().to_string();
        seen.push(s.clone());
        if s == "COMPLETED" {
            return seen;
        }
    }
    panic!("never completed: {seen:?}");
}

/// One webhook as received.
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap().to_str().unwrap()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook receiver on loopback; answers 500 to the first `fail_first` calls, then 200.
pub struct Receiver {
    pub url: String,
    pub fail_first: Arc<AtomicUsize>,
    rx: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let fail_first = Arc::new(AtomicUsize::new(0));
        let ff = fail_first.clone();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let (tx, ff) = (tx.clone(), ff.clone());
                async move {
                    let _ = tx.send(Received { headers, body });
                    let failing = ff
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if failing {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url,
            fail_first,
            rx,
        }
    }

    /// The next webhook, or a panic after `WAIT`.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("a webhook in time")
            .expect("receiver open")
    }

    /// Whether another webhook is already queued.
    pub fn try_next(&mut self) -> Option<Received> {
        self.rx.try_recv().ok()
    }
}

/// The Ed25519 key from the fake's JWKS, fetched over HTTP as a receiver would.
pub async fn jwks_key(fal: &FakeFal) -> VerifyingKey {
    let jwks: Value = http()
        .get(fal.jwks_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let k = &jwks["keys"][0];
    assert_eq!(k["kty"], "OKP");
    assert_eq!(k["crv"], "Ed25519");
    let x = URL_SAFE_NO_PAD.decode(k["x"].as_str().unwrap()).unwrap();
    VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap()
}

/// fal's check: signature over request id, user id, timestamp and hex sha256 of the body.
pub fn verifies(key: &VerifyingKey, w: &Received) -> bool {
    let Some(sig) = w.headers.get("x-fal-webhook-signature") else {
        return false;
    };
    let Ok(raw) = hex::decode(sig.to_str().unwrap()) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(&raw) else {
        return false;
    };
    let ts: i64 = w.header("x-fal-webhook-timestamp").parse().unwrap();
    let message = signed_message(
        w.header("x-fal-webhook-request-id"),
        w.header("x-fal-webhook-user-id"),
        ts,
        &w.body,
    );
    // Spelled out once more here so the test does not only trust the crate's helper.
    let expected = format!(
        "{}\n{}\n{}\n{}",
        w.header("x-fal-webhook-request-id"),
        w.header("x-fal-webhook-user-id"),
        ts,
        hex::encode(Sha256::digest(&w.body))
    );
    assert_eq!(message, expected);
    key.verify_strict(message.as_bytes(), &sig).is_ok()
}
