//! Multi-window fixed-window rate limiter with in-process and Redis implementations.
//!
//! A check names a key (a user, an API key, a hashed IP), a list of [`Rule`]s such as
//! 5/minute + 15/hour + 50/day, and a cost. It passes only if every window has room for the
//! cost; then every window is charged, otherwise nothing is (atomic check-and-increment). Windows
//! are fixed and aligned to UTC: minutes, hours, and days starting at midnight UTC.
//!
//! The limiter never reads the system clock: every check and peek is made at the `now` its
//! caller passes (the server's `iskra-clock`, a manual clock in tests), and a Redis counter is
//! named by the window start computed from that instant.
//!
//! [`MemoryLimiter`] serves a single server process; [`RedisLimiter`] shares counters between
//! replicas with the same semantics, in one round trip per decision.
//!
//! Why this is ours and not a crate: the limiters on crates.io (GCRA or token buckets such as
//! `governor`) keep one rate per key in one process. Iskra's tiers are several fixed windows
//! per key, charged together or not at all, aligned to UTC so the 429 body's `resetsAt` and the
//! day's reset at midnight are exact, decided at the caller's clock, and shared by replicas in
//! one Redis script call. That is the product's rule, so it is this crate.

mod decision;
mod memory;
mod redis;
mod window;

pub use crate::decision::{Decision, WindowState};
pub use crate::memory::MemoryLimiter;
pub use crate::redis::{bounded_connection_config, RedisLimiter};
pub use crate::window::{Rule, Window};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// A limiter failure. Callers decide whether to fail open or closed.
#[derive(Debug, thiserror::Error)]
pub enum LimiterError {
    /// The shared counter store could not be reached or answered unexpectedly.
    #[error("rate limiter backend error: {0}")]
    Backend(String),
}

/// Counts usage per key in fixed UTC windows and decides whether a request fits.
///
/// `cost` is the number of units a request uses (1 for a request, the image count for a
/// generation); it must not be negative (a negative cost is treated as 0). Several rules on the
/// same window share one counter, which is charged once.
#[async_trait::async_trait]
pub trait Limiter: Send + Sync + 'static {
    /// Checks that every rule's window has room for `cost` and, only if so, charges all of them.
    async fn check(
        &self,
        key: &str,
        rules: &[Rule],
        cost: i64,
        now: DateTime<Utc>,
    ) -> Result<Decision, LimiterError>;

    /// Reports current usage without charging anything; `allowed` tells whether a check with
    /// cost 1 would pass right now.
    async fn peek(
        &self,
        key: &str,
        rules: &[Rule],
        now: DateTime<Utc>,
    ) -> Result<Decision, LimiterError>;
}

/// Anonymous limiter key for an IP address: hex SHA-256 of `salt` followed by the address in
/// its canonical text form, so raw addresses are never stored. IPv4-mapped IPv6 addresses
/// (`::ffff:a.b.c.d`, as seen on dual-stack sockets) hash like the plain IPv4 address.
pub fn hash_ip(ip: &IpAddr, salt: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(ip.to_canonical().to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// Normalizes a caller's cost (see [`Limiter`]).
pub(crate) fn clamp_cost(cost: i64) -> i64 {
    debug_assert!(cost >= 0, "limiter cost must not be negative, got {cost}");
    cost.max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ip_is_salted_sha256_hex() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        // printf 'pepper203.0.113.7' | sha256sum
        assert_eq!(
            hash_ip(&ip, "pepper"),
            "8fc212f188c11cc380ea9112da8e6dba4197bb31854882f5e4d07602091e019f"
        );
        assert_eq!(hash_ip(&ip, "pepper").len(), 64);
        assert_ne!(hash_ip(&ip, "pepper"), hash_ip(&ip, "salt"));
        assert!(!hash_ip(&ip, "pepper").contains("203"));
    }

    #[test]
    fn hash_ip_canonicalizes_mapped_ipv4() {
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(hash_ip(&v4, "s"), hash_ip(&mapped, "s"));
        assert_ne!(hash_ip(&v4, "s"), hash_ip(&v6, "s"));
    }

    #[test]
    fn limiter_is_object_safe() {
        let limiter: std::sync::Arc<dyn Limiter> = std::sync::Arc::new(MemoryLimiter::new());
        drop(limiter);
    }
}
