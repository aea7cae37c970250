//! The anonymous generation quota (S6): by default one image per UTC day for each client IP,
//! counted in the shared limiter (Redis when configured, so replicas share it; in-process
//! otherwise) under a key made of the UTC day and a salted SHA-256 of the address — never the
//! address itself. The day in the key and the limiter's day window both turn at midnight UTC.

use crate::error::ApiError;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use iskra_limiter::{Decision, Limiter, LimiterError, Rule};
use iskra_protocol::ErrorCode;
use std::net::IpAddr;

/// The tier name anonymous clients are reported under in 429 bodies.
pub const TIER: &str = "anonymous";

/// The limiter key of `ip`'s anonymous generations on the UTC day of `now`.
pub fn key(salt: &str, ip: IpAddr, now: DateTime<Utc>) -> String {
    format!(
        "gen:anon:{}:{}",
        now.format("%Y-%m-%d"),
        iskra_limiter::hash_ip(&ip, salt)
    )
}

/// Counts one anonymous generation of `ip` at `now` against `rules` (atomically: N parallel
/// attempts against a limit L let exactly L through).
pub async fn count(
    limiter: &dyn Limiter,
    salt: &str,
    rules: &[Rule],
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<Decision, LimiterError> {
    limiter.check(&key(salt, ip, now), rules, 1, now).await
}

/// The anonymous quota of `ip` at `now`, not counting anything.
pub async fn peek(
    limiter: &dyn Limiter,
    salt: &str,
    rules: &[Rule],
    ip: IpAddr,
    now: DateTime<Utc>,
) -> Result<Decision, LimiterError> {
    limiter.peek(&key(salt, ip, now), rules, now).await
}

/// Takes one anonymous generation for `ip`; refused: 429 `ANONYMOUS_QUOTA_EXCEEDED` pointing to
/// sign-up, with the standard rate-limit headers.
pub async fn take(state: &AppState, ip: IpAddr) -> Result<(), ApiError> {
    let rules = state.config.rate_limits.generation_anonymous.rules();
    let decision = count(
        state.limiter.as_ref(),
        &state.ip_salt,
        &rules,
        ip,
        state.clock.now(),
    )
    .await
    .map_err(ApiError::internal)?;
    metrics::counter!("iskra_anonymous_generations_total", "allowed" => decision.allowed.to_string())
        .increment(1);
    if decision.allowed {
        return Ok(());
    }
    let mut refused = crate::extract::rate_limited(
        state,
        &decision,
        ErrorCode::AnonymousQuotaExceeded,
        Some(TIER),
    );
    if let ApiError::RateLimited(info) = &mut refused {
        info.upgrade_url = state.config.anonymous.sign_up_url.clone();
    }
    Err(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use iskra_limiter::{MemoryLimiter, Window};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_key_carries_the_utc_day_and_no_address() {
        let ip: IpAddr = "203.0.113.77".parse().unwrap();
        let k = key("salt", ip, at("2026-12-01T23:59:59Z"));
        assert!(k.starts_with("gen:anon:2026-12-01:"), "{k}");
        assert!(!k.contains("203.0.113.77"));
        assert_eq!(k.len(), "gen:anon:2026-12-01:".len() + 64);
        assert_ne!(k, key("pepper", ip, at("2026-12-01T23:59:59Z")));
        assert_ne!(k, key("salt", ip, at("2026-12-02T00:00:00Z")));
        // A mapped IPv4 address is the same client as the plain one.
        let mapped: IpAddr = "::ffff:203.0.113.77".parse().unwrap();
        assert_eq!(k, key("salt", mapped, at("2026-12-01T08:00:00Z")));
    }

    #[tokio::test]
    async fn one_a_day_resetting_at_midnight_utc() {
        let limiter = MemoryLimiter::new();
        let rules = [Rule::new(Window::Day, 1)];
        let ip: IpAddr = "198.51.100.4".parse().unwrap();
        let other: IpAddr = "198.51.100.5".parse().unwrap();
        let evening = at("2026-12-01T23:59:58Z");
        let first = count(&limiter, "s", &rules, ip, evening).await.unwrap();
        assert!(first.allowed);
        let second = count(&limiter, "s", &rules, ip, at("2026-12-01T23:59:59Z"))
            .await
            .unwrap();
        assert!(!second.allowed);
        let w = second.tightest().unwrap();
        assert_eq!((w.limit, w.used), (1, 1));
        assert_eq!(w.resets_at, at("2026-12-02T00:00:00Z"));
        assert_eq!(second.retry_after_secs(at("2026-12-01T23:59:59Z")), 1);
        assert!(
            count(&limiter, "s", &rules, other, evening)
                .await
                .unwrap()
                .allowed
        );
        let seen = peek(&limiter, "s", &rules, ip, evening).await.unwrap();
        assert_eq!(seen.windows[0].remaining, 0);
        let midnight = at("2026-12-02T00:00:00Z");
        let fresh = peek(&limiter, "s", &rules, ip, midnight).await.unwrap();
        assert_eq!((fresh.windows[0].used, fresh.windows[0].remaining), (0, 1));
        assert_eq!(fresh.windows[0].resets_at, at("2026-12-03T00:00:00Z"));
        assert!(
            count(&limiter, "s", &rules, ip, midnight)
                .await
                .unwrap()
                .allowed
        );
        assert!(
            !count(&limiter, "s", &rules, ip, at("2026-12-02T23:00:00Z"))
                .await
                .unwrap()
                .allowed
        );
    }
}
