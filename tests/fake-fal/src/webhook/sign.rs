//! fal's webhook signature: an Ed25519 key of the fake's own, published as a JWKS, and the
//! signed message `request_id \n user_id \n timestamp \n hex(sha256(body))`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const HEADER_REQUEST_ID: &str = "X-Fal-Webhook-Request-Id";
pub const HEADER_USER_ID: &str = "X-Fal-Webhook-User-Id";
pub const HEADER_TIMESTAMP: &str = "X-Fal-Webhook-Timestamp";
pub const HEADER_SIGNATURE: &str = "X-Fal-Webhook-Signature";

/// The fake's webhook signing key.
pub struct Signer {
    key: SigningKey,
    kid: String,
}

impl Signer {
    /// A key from 32 random bytes.
    pub fn random() -> Self {
        let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let public = key.verifying_key().to_bytes();
        let kid = hex::encode(&Sha256::digest(public)[..8]);
        Signer { key, kid }
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The JWKS document served at `{rest}/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.public_key()),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        }]})
    }

    /// The hex Ed25519 signature of fal's webhook message.
    pub fn signature_hex(
        &self,
        request_id: &str,
        user_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> String {
        let message = signed_message(request_id, user_id, timestamp, body);
        hex::encode(self.key.sign(message.as_bytes()).to_bytes())
    }

    /// The four `X-Fal-Webhook-*` headers for `body`.
    pub fn headers(
        &self,
        request_id: &str,
        user_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Vec<(String, String)> {
        vec![
            (HEADER_REQUEST_ID.into(), request_id.into()),
            (HEADER_USER_ID.into(), user_id.into()),
            (HEADER_TIMESTAMP.into(), timestamp.to_string()),
            (
                HEADER_SIGNATURE.into(),
                self.signature_hex(request_id, user_id, timestamp, body),
            ),
        ]
    }
}

/// The UTF-8 message fal signs: request id, user id, timestamp and the lowercase hex SHA-256
/// of the raw body, joined by `\n`.
pub fn signed_message(request_id: &str, user_id: &str, timestamp: i64, body: &[u8]) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    format!("{request_id}\n{user_id}\n{timestamp}\n{body_hash}")
}

/// Now, in unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
