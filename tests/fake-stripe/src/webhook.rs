//! Stripe's webhook signature and delivery: `Stripe-Signature: t=<unix>,v1=<hex>` where the
//! hex is HMAC-SHA256 of `"{t}.{body}"` keyed by the endpoint secret (`whsec_…`) exactly as
//! given. A [`Tamper`] spoils one part on purpose, for tests of the receiver.

use crate::objects::{unix_now, Event};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header Stripe signs deliveries with.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

/// How far a stale timestamp lies in the past (Stripe's tolerance is 300 s).
pub const STALE_BY_SECS: i64 = 600;

/// The hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The `Stripe-Signature` value for `body` signed at `timestamp`.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", signature(secret, timestamp, body))
}

/// A deliberate defect in a delivery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Tamper {
    /// Correctly signed now.
    #[default]
    None,
    /// Signed correctly, but at a timestamp [`STALE_BY_SECS`] in the past.
    StaleTimestamp,
    /// Signed with another endpoint's secret.
    WrongSecret,
    /// Signed over the body, then one of its values changed before sending.
    BodyChangedAfterSigning,
    /// No `Stripe-Signature` header.
    NoSignature,
}

/// What a receiver answered to one delivery.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub event_id: String,
    /// The HTTP status; `None` when the request failed.
    pub status: Option<u16>,
    /// The response body, or the transport error.
    pub body: String,
}

impl Delivery {
    /// Answered with a 2xx.
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Posts signed events to one endpoint.
#[derive(Clone)]
pub struct Sender {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) secret: String,
}

impl Sender {
    /// The endpoint it posts to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Delivers `event`, correctly signed.
    pub async fn deliver(&self, event: &Event) -> Delivery {
        self.deliver_with(event, Tamper::None).await
    }

    /// Delivers `event` with `tamper` applied.
    pub async fn deliver_with(&self, event: &Event, tamper: Tamper) -> Delivery {
        let body = event.body();
        let now = unix_now();
        let header = match &tamper {
            Tamper::None | Tamper::BodyChangedAfterSigning => {
                Some(signature_header(&self.secret, now, &body))
            }
            Tamper::StaleTimestamp => {
                Some(signature_header(&self.secret, now - STALE_BY_SECS, &body))
            }
            Tamper::WrongSecret => Some(signature_header(
                &format!("{}-other", self.secret),
                now,
                &body,
            )),
            Tamper::NoSignature => None,
        };
        let sent = if tamper == Tamper::BodyChangedAfterSigning {
            let mut changed = event.to_json();
            changed["data"]["object"]["metadata"]["changed_after_signing"] = true.into();
            serde_json::to_vec(&changed).unwrap_or_default()
        } else {
            body
        };
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json; charset=utf-8")
            .header(
                "user-agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            )
            .body(sent);
        if let Some(h) = header {
            req = req.header(SIGNATURE_HEADER, h);
        }
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                Delivery {
                    event_id: event.id.clone(),
                    status: Some(status),
                    body: res.text().await.unwrap_or_default(),
                }
            }
            Err(e) => Delivery {
                event_id: event.id.clone(),
                status: None,
                body: e.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body_under_the_secret_as_given() {
        // HMAC-SHA256(key = "whsec_test", "1700000000.{}"), computed with Python's hmac.
        let sig = signature("whsec_test", 1_700_000_000, b"{}");
        assert_eq!(
            sig,
            "35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        assert_ne!(sig, signature("whsec_test", 1_700_000_001, b"{}"));
        assert_ne!(sig, signature("whsec_other", 1_700_000_000, b"{}"));
        assert_eq!(
            signature_header("whsec_test", 5, b"x"),
            format!("t=5,v1={}", signature("whsec_test", 5, b"x"))
        );
    }
}
