//! Signatures of incoming HMAC webhooks (S11): Stripe's `Stripe-Signature` and Svix's
//! (Clerk) `svix-id` / `svix-timestamp` / `svix-signature`. Both sign the raw body with
//! HMAC-SHA256 together with a timestamp; a delivery is refused when no listed signature matches
//! or the timestamp is more than [`TOLERANCE_SECS`] from now. Comparisons are constant-time
//! (`hmac`'s `verify_slice`). Nothing here parses the body.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Largest distance between a signed timestamp and now (both providers' default, 5 minutes).
pub const TOLERANCE_SECS: i64 = 300;

/// Why a delivery's signature was refused (never shown to the sender beyond "invalid").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signed timestamp is more than {TOLERANCE_SECS} s from now")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
    #[error("the signing secret is not usable")]
    BadSecret,
}

type HmacSha256 = Hmac<Sha256>;

fn check_time(timestamp: i64, now: i64) -> Result<(), SignatureError> {
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Whether any of `candidates` is the HMAC-SHA256 of `parts` (concatenated) under `key`.
fn any_matches<'a>(
    key: &[u8],
    parts: &[&[u8]],
    candidates: impl Iterator<Item = Vec<u8>> + 'a,
) -> Result<(), SignatureError> {
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| SignatureError::BadSecret)?;
    for p in parts {
        mac.update(p);
    }
    for sig in candidates {
        if mac.clone().verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// Verifies a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`): HMAC-SHA256 of `t.body` keyed by
/// the endpoint secret exactly as given (`whsec_…`). Any `v1` may match; other schemes are
/// ignored.
pub fn verify_stripe(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut sigs = Vec::new();
    for item in header.split(',') {
        let (k, v) = item
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match k {
            "t" => timestamp = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            "v1" => sigs.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?),
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if sigs.is_empty() {
        return Err(SignatureError::Malformed);
    }
    check_time(t, now)?;
    let t = t.to_string();
    any_matches(
        secret.as_bytes(),
        &[t.as_bytes(), b".", body],
        sigs.into_iter(),
    )
}

/// The three Svix headers of a delivery.
#[derive(Debug, Clone, Copy)]
pub struct SvixHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Verifies a Svix delivery: HMAC-SHA256 over `id.timestamp.body` keyed by the base64-decoded
/// part of the `whsec_…` secret; `svix-signature` holds space-separated `v1,<base64>` values,
/// any of which may match. Returns the verified `svix-id` (the delivery's idempotency key).
pub fn verify_svix<'a>(
    h: SvixHeaders<'a>,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<&'a str, SignatureError> {
    let (Some(id), Some(ts), Some(sig)) = (h.id, h.timestamp, h.signature) else {
        return Err(SignatureError::Missing);
    };
    let t: i64 = ts.trim().parse().map_err(|_| SignatureError::Malformed)?;
    check_time(t, now)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| SignatureError::BadSecret)?;
    let sigs: Vec<Vec<u8>> = sig
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| b64.decode(s).ok())
        .collect();
    if sigs.is_empty() {
        return Err(SignatureError::Malformed);
    }
    any_matches(
        &key,
        &[id.as_bytes(), b".", ts.trim().as_bytes(), b".", body],
        sigs.into_iter(),
    )?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hmac_hex(key: &[u8], msg: &[u8]) -> String {
        let mut m = HmacSha256::new_from_slice(key).unwrap();
        m.update(msg);
        hex::encode(m.finalize().into_bytes())
    }

    #[test]
    fn stripe_accepts_any_listed_v1_and_refuses_the_rest() {
        let body = br#"{"id":"evt_1"}"#;
        let good = hmac_hex(b"whsec_abc", b"1000.{\"id\":\"evt_1\"}");
        let header = format!("t=1000,v1={},v1={good},v0=zz", "00".repeat(32));
        assert_eq!(
            verify_stripe(Some(&header), body, "whsec_abc", 1010),
            Ok(())
        );
        assert_eq!(
            verify_stripe(Some(&header), body, "whsec_abc", 1400),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_stripe(Some(&header), b"{\"id\":\"evt_2\"}", "whsec_abc", 1010),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_stripe(Some(&header), body, "whsec_other", 1010),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_stripe(None, body, "whsec_abc", 1010),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_stripe(Some("v1=abc"), body, "whsec_abc", 1010),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn svix_signs_id_timestamp_and_body_with_the_decoded_secret() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = b"0123456789abcdef0123456789abcdef";
        let secret = format!("whsec_{}", b64.encode(key));
        let body = br#"{"type":"user.deleted"}"#;
        let mut m = HmacSha256::new_from_slice(key).unwrap();
        m.update(b"msg_1.2000.");
        m.update(body);
        let sig = format!("v1,{}", b64.encode(m.finalize().into_bytes()));
        let header = format!("v1,{} {sig}", b64.encode([0u8; 32]));
        let h = SvixHeaders {
            id: Some("msg_1"),
            timestamp: Some("2000"),
            signature: Some(&header),
        };
        assert_eq!(verify_svix(h, body, &secret, 2100), Ok("msg_1"));
        assert_eq!(
            verify_svix(h, body, &secret, 2301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_svix(h, b"{}", &secret, 2100),
            Err(SignatureError::Mismatch)
        );
        let other = SvixHeaders {
            id: Some("msg_2"),
            ..h
        };
        assert_eq!(
            verify_svix(other, body, &secret, 2100),
            Err(SignatureError::Mismatch)
        );
        let missing = SvixHeaders {
            signature: None,
            ..h
        };
        assert_eq!(
            verify_svix(missing, body, &secret, 2100),
            Err(SignatureError::Missing)
        );
    }
}
