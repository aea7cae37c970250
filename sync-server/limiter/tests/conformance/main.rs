//! Conformance suite: every case in [`cases`] is one generic function, run against both
//! [`MemoryLimiter`] and [`RedisLimiter`] by the `conformance!` macro at the bottom.
//!
//! The Redis cases use `redis://127.0.0.1:6379` (override with `ISKRA_TEST_REDIS_URL`) and a
//! fresh random key prefix per test, deleted afterwards. They fail when Redis is unreachable
//! unless `ISKRA_SKIP_REDIS=1` is set.

mod cases;

use iskra_limiter::{Limiter, LimiterError, MemoryLimiter, RedisLimiter, Rule, Window};
use std::sync::Arc;

/// A [`RedisLimiter`] on a prefix of its own, whose keys are deleted by [`Self::cleanup`].
struct RedisFixture {
    limiter: Arc<RedisLimiter>,
    url: String,
    prefix: String,
}

impl RedisFixture {
    async fn new() -> Option<Self> {
        if std::env::var("ISKRA_SKIP_REDIS").as_deref() == Ok("1") {
            eprintln!("ISKRA_SKIP_REDIS=1: skipping a Redis limiter test");
            return None;
        }
        let url = std::env::var("ISKRA_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let prefix = format!("iskra-test:{:016x}", rand_u64());
        match RedisLimiter::connect(&url, &prefix).await {
            Ok(limiter) => Some(RedisFixture {
                limiter: Arc::new(limiter),
                url,
                prefix,
            }),
            Err(e) => panic!(
                "Redis limiter tests need a Redis server at {url} ({e}). Start one, point \
                 ISKRA_TEST_REDIS_URL at one, or set ISKRA_SKIP_REDIS=1 to skip these tests."
            ),
        }
    }

    async fn cleanup(self) {
        let client = ::redis::Client::open(self.url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = ::redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
    }
}

/// A random 64-bit value from the standard library's randomly seeded hasher.
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

#[tokio::test]
async fn redis_counters_expire_after_their_window() {
    let Some(f) = RedisFixture::new().await else {
        return;
    };
    // A counter's TTL is relative to Redis' own clock: its window's rest at `now` plus a grace.
    let now = cases::at("2025-03-04T10:20:30Z");
    let d = f
        .limiter
        .check("ttl", &[Rule::per_minute(5), Rule::per_day(5)], 1, now)
        .await
        .unwrap();
    assert!(d.allowed);
    let client = ::redis::Client::open(f.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut ttls = Vec::new();
    for w in [Window::Minute, Window::Day] {
        let key = format!(
            "{}:ttl:{}:{}",
            f.prefix,
            w.as_str(),
            w.start(now).timestamp()
        );
        let count: i64 = ::redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let ttl_ms: i64 = ::redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let window_left = (w.reset_at(now) - now).num_milliseconds();
        assert_eq!(count, 1, "{key}");
        assert!(
            ttl_ms > 0 && ttl_ms <= window_left + 10_000,
            "{key}: {ttl_ms}"
        );
        ttls.push(ttl_ms);
    }
    // 30 s of minute plus the grace; the day counter lives until past midnight.
    assert!(ttls[0] <= 40_000 && ttls[1] > 40_000, "{ttls:?}");
    f.cleanup().await;
}

#[tokio::test]
async fn unreachable_redis_is_a_backend_error() {
    let err = RedisLimiter::connect("redis://127.0.0.1:1", "x")
        .await
        .unwrap_err();
    assert!(matches!(err, LimiterError::Backend(_)));
    assert!(err.to_string().contains("redis"), "{err}");
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::cases::$case(std::sync::Arc::new(super::MemoryLimiter::new())).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(fixture) = super::RedisFixture::new().await else { return };
                    super::cases::$case(fixture.limiter.clone()).await;
                    fixture.cleanup().await;
                }
            )*
        }
    };
}

conformance!(
    counts_up_to_the_limit,
    minute_and_hour_boundaries,
    day_resets_at_midnight_utc,
    all_windows_must_pass_without_partial_increment,
    cost_greater_than_one,
    unlimited_never_blocks,
    resets_after_the_window_passes,
    retry_after_points_past_the_reset,
    peek_changes_nothing,
    keys_are_independent,
    rules_on_one_window_share_a_counter,
    no_rules_always_allow,
    concurrent_checks_admit_exactly_the_limit,
);
