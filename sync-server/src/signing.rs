//! Short-lived signed file URLs (`/files/{token}`) and the server's HMAC secret.
//!
//! A token is `base64url(payload).base64url(hmac)` where the payload names the user, the asset
//! hash and the expiry. Anyone holding the URL may read the file until it expires; the file
//! route still checks the asset exists, so a deleted asset answers 404 at once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks file tokens.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

/// What a valid token grants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileGrant {
    #[serde(rename = "u")]
    pub user: String,
    #[serde(rename = "a")]
    pub sha256: String,
    #[serde(rename = "e")]
    pub expires: i64,
}

impl UrlSigner {
    pub fn new(key: Vec<u8>) -> Self {
        Self {
            key: derive(&key, b"iskra file urls"),
        }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    pub fn sign(&self, grant: &FileGrant) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(grant).unwrap_or_default());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        format!(
            "{payload}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    /// The grant of a token that is authentic and not expired at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Option<FileGrant> {
        let (payload, sig) = token.split_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig).ok()?;
        let grant: FileGrant =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (grant.expires > now).then_some(grant)
    }
}

/// A purpose-bound key derived from the server secret (HMAC(secret, purpose)).
pub fn derive(secret: &[u8], purpose: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(purpose);
    mac.finalize().into_bytes().to_vec()
}

/// The dev-token signer derived from the server secret, reading the time from `clock`.
pub fn dev_auth(secret: &[u8], clock: iskra_clock::Clock) -> iskra_auth::DevAuth {
    iskra_auth::DevAuth::with_clock(derive(secret, b"iskra dev tokens"), clock)
}

/// Length in bytes of a generated server secret.
const SECRET_BYTES: usize = 32;

/// The server secret: from configuration, else read from (or created in) `data_dir/secret.key`
/// with owner-only permissions. Replicas must share one via `ISKRA_SIGNING_SECRET`.
pub fn load_or_create_secret(
    configured: Option<&str>,
    data_dir: &Path,
) -> std::io::Result<Vec<u8>> {
    if let Some(s) = configured.filter(|s| !s.is_empty()) {
        return Ok(s.as_bytes().to_vec());
    }
    let path = data_dir.join("secret.key");
    if let Ok(existing) = std::fs::read(&path) {
        if existing.len() >= SECRET_BYTES {
            return Ok(existing);
        }
    }
    std::fs::create_dir_all(data_dir)?;
    let secret: [u8; SECRET_BYTES] = rand::random();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    std::io::Write::write_all(&mut opts.open(&path)?, &secret)?;
    Ok(secret.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_expiry_and_resist_tampering() {
        let s = UrlSigner::new(b"k".to_vec());
        let g = FileGrant {
            user: "u".into(),
            sha256: "a".repeat(64),
            expires: 100,
        };
        let t = s.sign(&g);
        assert_eq!(s.verify(&t, 99), Some(g.clone()));
        assert_eq!(s.verify(&t, 100), None);
        let other = FileGrant {
            user: "v".into(),
            ..g
        };
        let forged = format!(
            "{}.{}",
            s.sign(&other).split_once('.').unwrap().0,
            t.split_once('.').unwrap().1
        );
        assert_eq!(s.verify(&forged, 0), None);
        assert_eq!(UrlSigner::new(b"x".to_vec()).verify(&t, 0), None);
    }
}
