//! Svix's signing scheme, as Clerk's webhooks use it, for sending test deliveries: the secret
//! is `whsec_` + base64 of the key; `svix-signature` is `v1,` + base64 of HMAC-SHA256 over
//! `svix-id.svix-timestamp.body`.

use super::{send, Resp};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// A fresh random `whsec_…` secret.
pub fn new_secret() -> String {
    format!("whsec_{}", B64.encode(uuid::Uuid::new_v4().as_bytes()))
}

/// The `svix-signature` value of `body` for `id` at `timestamp` under `secret`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = B64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("hmac key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A sender of Clerk deliveries to one server's `POST /v1/webhooks/clerk`.
#[derive(Clone)]
pub struct ClerkSender {
    pub http: reqwest::Client,
    pub url: String,
    pub secret: String,
}

impl ClerkSender {
    /// A sender to the server at `base` signing with `secret`.
    pub fn new(base: &str, secret: &str) -> ClerkSender {
        ClerkSender {
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("http client"),
            url: format!("{base}/v1/webhooks/clerk"),
            secret: secret.to_owned(),
        }
    }

    /// Delivers `event` as `id`, signed now.
    pub async fn deliver(&self, id: &str, event: &Value) -> Resp {
        let body = event.to_string().into_bytes();
        let ts = now();
        let sig = sign(&self.secret, id, ts, &body);
        self.raw(Some(id), Some(&ts.to_string()), Some(&sig), body)
            .await
    }

    /// Delivers `body` with exactly these headers (absent when `None`).
    pub async fn raw(
        &self,
        id: Option<&str>,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json");
        for (name, value) in [
            ("svix-id", id),
            ("svix-timestamp", timestamp),
            ("svix-signature", signature),
        ] {
            if let Some(v) = value {
                req = req.header(name, v);
            }
        }
        send(req.body(body)).await
    }
}

/// A `user.deleted` event for `user`.
pub fn user_deleted(user: &str) -> Value {
    serde_json::json!({
        "object": "event", "type": "user.deleted", "timestamp": chrono::Utc::now().timestamp_millis(),
        "data": {"id": user, "object": "user", "deleted": true}
    })
}

/// A `user.created` / `user.updated` event (`kind`) for `user` with one primary address,
/// a name and the user object's `updated_at`.
pub fn user_event(kind: &str, user: &str, email: &str, first: &str, updated_at: i64) -> Value {
    serde_json::json!({
        "object": "event", "type": kind, "timestamp": updated_at,
        "data": {
            "id": user, "object": "user", "first_name": first, "last_name": "Tester",
            "primary_email_address_id": "idn_primary",
            "email_addresses": [
                {"id": "idn_other", "email_address": format!("other-{email}")},
                {"id": "idn_primary", "email_address": email}
            ],
            "created_at": 1_700_000_000_000_i64, "updated_at": updated_at
        }
    })
}
