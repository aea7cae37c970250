//! Conformance suite: every case is one generic function, run against both [`MemoryLimiter`]
//! and [`RedisLimiter`] by the `conformance!` macro at the bottom.
//!
//! The Redis cases use `redis://127.0.0.1:6379` (override with `ISKRA_TEST_REDIS_URL`) and a
//! fresh random key prefix per test, deleted afterwards. They fail when Redis is unreachable
//! unless `ISKRA_SKIP_REDIS=1` is set.

use chrono::{DateTime, TimeDelta, Utc};
use iskra_limiter::{Decision, Limiter, LimiterError, MemoryLimiter, RedisLimiter, Rule, Window};
use std::sync::Arc;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn check<L: Limiter>(l: &L, key: &str, rules: &[Rule], cost: i64, now: &str) -> Decision {
    l.check(key, rules, cost, at(now)).await.unwrap()
}

async fn used<L: Limiter>(l: &L, key: &str, rules: &[Rule], now: &str) -> Vec<i64> {
    let d = l.peek(key, rules, at(now)).await.unwrap();
    d.windows.iter().map(|w| w.used).collect()
}

/// 5/minute + 15/hour + 50/day, the S6 defaults for pro image generation.
const PRO: [Rule; 3] = [Rule::per_minute(5), Rule::per_hour(15), Rule::per_day(50)];

async fn counts_up_to_the_limit<L: Limiter>(l: Arc<L>) {
    let rules = [Rule::per_minute(3)];
    for n in 1..=3 {
        let d = check(&*l, "u", &rules, 1, "2025-03-04T10:20:30Z").await;
        assert!(d.allowed && d.blocked_by.is_none());
        assert_eq!((d.windows[0].used, d.windows[0].remaining), (n, 3 - n));
        assert_eq!(d.windows[0].resets_at, at("2025-03-04T10:21:00Z"));
    }
    let d = check(&*l, "u", &rules, 1, "2025-03-04T10:20:31Z").await;
    assert!(!d.allowed);
    assert_eq!(d.blocked_by, Some(0));
    assert_eq!(
        (
            d.windows[0].limit,
            d.windows[0].used,
            d.windows[0].remaining
        ),
        (3, 3, 0)
    );
    assert_eq!(d.tightest().unwrap().window, Window::Minute);
}

async fn minute_and_hour_boundaries<L: Limiter>(l: Arc<L>) {
    let minute = [Rule::per_minute(1)];
    assert!(
        check(&*l, "m", &minute, 1, "2025-03-04T10:00:00Z")
            .await
            .allowed
    );
    assert!(
        !check(&*l, "m", &minute, 1, "2025-03-04T10:00:59.999Z")
            .await
            .allowed
    );
    assert!(
        check(&*l, "m", &minute, 1, "2025-03-04T10:01:00Z")
            .await
            .allowed
    );
    let hour = [Rule::per_hour(1)];
    assert!(
        check(&*l, "h", &hour, 1, "2025-03-04T10:00:00Z")
            .await
            .allowed
    );
    let d = check(&*l, "h", &hour, 1, "2025-03-04T10:59:59.999Z").await;
    assert!(!d.allowed);
    assert_eq!(d.windows[0].resets_at, at("2025-03-04T11:00:00Z"));
    assert!(
        check(&*l, "h", &hour, 1, "2025-03-04T11:00:00Z")
            .await
            .allowed
    );
}

async fn day_resets_at_midnight_utc<L: Limiter>(l: Arc<L>) {
    let day = [Rule::per_day(1)];
    assert!(
        check(&*l, "d", &day, 1, "2025-03-04T00:00:00Z")
            .await
            .allowed
    );
    let d = check(&*l, "d", &day, 1, "2025-03-04T23:59:59.999Z").await;
    assert!(!d.allowed);
    assert_eq!(d.windows[0].resets_at, at("2025-03-05T00:00:00Z"));
    // 01:30 at UTC+2 is still March 4th in UTC.
    assert!(
        !check(&*l, "d", &day, 1, "2025-03-05T01:30:00+02:00")
            .await
            .allowed
    );
    let d = check(&*l, "d", &day, 1, "2025-03-05T00:00:00Z").await;
    assert!(d.allowed);
    assert_eq!(d.windows[0].used, 1);
    assert_eq!(d.windows[0].resets_at, at("2025-03-06T00:00:00Z"));
}

async fn all_windows_must_pass_without_partial_increment<L: Limiter>(l: Arc<L>) {
    let t = |m: u32| format!("2025-03-04T10:{m:02}:10Z");
    for _ in 0..5 {
        assert!(check(&*l, "p", &PRO, 1, &t(0)).await.allowed);
    }
    let d = check(&*l, "p", &PRO, 1, &t(0)).await;
    assert_eq!((d.allowed, d.blocked_by), (false, Some(0)));
    assert_eq!(used(&*l, "p", &PRO, &t(0)).await, [5, 5, 5]);
    // Two more minutes fill the hour; the fourth minute is refused by the hour rule and its
    // own minute counter stays untouched.
    for m in 1..=2 {
        for _ in 0..5 {
            assert!(check(&*l, "p", &PRO, 1, &t(m)).await.allowed);
        }
    }
    let d = check(&*l, "p", &PRO, 1, &t(3)).await;
    assert_eq!((d.allowed, d.blocked_by), (false, Some(1)));
    assert_eq!(
        d.windows.iter().map(|w| w.used).collect::<Vec<_>>(),
        [0, 15, 15]
    );
    assert_eq!(used(&*l, "p", &PRO, &t(3)).await, [0, 15, 15]);
    // Fill the day over the next hours (cost 5 per minute), then the day rule refuses.
    for (h, m) in [
        (11, 0),
        (11, 1),
        (11, 2),
        (12, 0),
        (12, 1),
        (12, 2),
        (13, 0),
    ] {
        assert!(
            check(&*l, "p", &PRO, 5, &format!("2025-03-04T{h}:{m:02}:00Z"))
                .await
                .allowed
        );
    }
    let d = check(&*l, "p", &PRO, 1, "2025-03-04T13:05:00Z").await;
    assert_eq!((d.allowed, d.blocked_by), (false, Some(2)));
    assert_eq!(
        used(&*l, "p", &PRO, "2025-03-04T13:05:00Z").await,
        [0, 5, 50]
    );
    // `blocked_by` follows the caller's rule order.
    let reversed = [PRO[2], PRO[1], PRO[0]];
    let d = check(&*l, "p", &reversed, 1, "2025-03-04T13:05:00Z").await;
    assert_eq!(d.blocked_by, Some(0));
    assert_eq!(d.tightest().unwrap().window, Window::Day);
}

async fn cost_greater_than_one<L: Limiter>(l: Arc<L>) {
    let rules = [Rule::per_minute(10)];
    let now = "2025-03-04T10:00:00Z";
    assert_eq!(check(&*l, "c", &rules, 4, now).await.windows[0].used, 4);
    assert_eq!(check(&*l, "c", &rules, 4, now).await.windows[0].used, 8);
    let d = check(&*l, "c", &rules, 4, now).await;
    assert!(!d.allowed);
    assert_eq!((d.windows[0].used, d.windows[0].remaining), (8, 2));
    let d = check(&*l, "c", &rules, 2, now).await;
    assert!(d.allowed);
    assert_eq!((d.windows[0].used, d.windows[0].remaining), (10, 0));
    // A cost above the limit never fits and charges nothing.
    assert!(!check(&*l, "big", &rules, 11, now).await.allowed);
    assert_eq!(used(&*l, "big", &rules, now).await, [0]);
    // Across windows: the hour has 4 left, so cost 8 in a new minute is refused by the hour.
    let rules = [Rule::per_minute(10), Rule::per_hour(12)];
    assert!(
        check(&*l, "x", &rules, 8, "2025-03-04T10:00:00Z")
            .await
            .allowed
    );
    let d = check(&*l, "x", &rules, 8, "2025-03-04T10:01:00Z").await;
    assert_eq!((d.allowed, d.blocked_by), (false, Some(1)));
    assert_eq!(used(&*l, "x", &rules, "2025-03-04T10:01:00Z").await, [0, 8]);
}

async fn unlimited_never_blocks<L: Limiter>(l: Arc<L>) {
    let now = "2025-03-04T10:00:00Z";
    let unlimited = [Rule::unlimited(Window::Day)];
    for _ in 0..3 {
        let d = check(&*l, "e", &unlimited, 1_000_000, now).await;
        assert!(d.allowed);
        assert_eq!((d.windows[0].limit, d.windows[0].remaining), (-1, -1));
    }
    assert_eq!(used(&*l, "e", &unlimited, now).await, [3_000_000]);
    let mixed = [Rule::per_minute(3), Rule::unlimited(Window::Day)];
    for _ in 0..3 {
        assert!(check(&*l, "m", &mixed, 1, now).await.allowed);
    }
    let d = check(&*l, "m", &mixed, 1, now).await;
    assert_eq!((d.allowed, d.blocked_by), (false, Some(0)));
    assert_eq!(used(&*l, "m", &mixed, now).await, [3, 3]);
}

async fn resets_after_the_window_passes<L: Limiter>(l: Arc<L>) {
    let rules = [Rule::per_minute(2), Rule::per_hour(100)];
    for _ in 0..2 {
        assert!(
            check(&*l, "r", &rules, 1, "2025-03-04T10:00:20Z")
                .await
                .allowed
        );
    }
    assert!(
        !check(&*l, "r", &rules, 1, "2025-03-04T10:00:50Z")
            .await
            .allowed
    );
    let d = check(&*l, "r", &rules, 1, "2025-03-04T10:01:20Z").await;
    assert!(d.allowed);
    assert_eq!(d.windows.iter().map(|w| w.used).collect::<Vec<_>>(), [1, 3]);
    // Much later every window has reset.
    assert_eq!(used(&*l, "r", &rules, "2025-03-05T10:01:20Z").await, [0, 0]);
}

async fn retry_after_points_past_the_reset<L: Limiter>(l: Arc<L>) {
    let rules = [Rule::per_minute(1), Rule::per_day(2)];
    let d = check(&*l, "a", &rules, 1, "2025-03-04T23:58:10Z").await;
    assert_eq!(d.retry_after_secs(at("2025-03-04T23:58:10Z")), 0);
    let d = check(&*l, "a", &rules, 1, "2025-03-04T23:58:45.500Z").await;
    assert!(!d.allowed);
    assert_eq!(d.retry_after_secs(at("2025-03-04T23:58:45.500Z")), 15);
    assert_eq!(d.retry_after_secs(at("2025-03-04T23:58:59.999Z")), 1);
    assert!(
        check(&*l, "a", &rules, 1, "2025-03-04T23:59:00Z")
            .await
            .allowed
    );
    // Minute and day both exhausted: retrying after the minute would be refused again.
    let d = check(&*l, "a", &rules, 1, "2025-03-04T23:59:30Z").await;
    assert_eq!(d.blocked_by, Some(0));
    assert_eq!(d.retry_after_secs(at("2025-03-04T23:59:30Z")), 30);
    let d = check(&*l, "a", &rules, 1, "2025-03-04T23:59:30Z").await;
    assert_eq!(d.tightest().unwrap().window, Window::Minute);
    let rules = [Rule::per_minute(5), Rule::per_day(2)];
    let d = check(&*l, "a", &rules, 1, "2025-03-04T23:59:40Z").await;
    assert_eq!(d.blocked_by, Some(1));
    assert_eq!(d.retry_after_secs(at("2025-03-04T23:59:40Z")), 20);
}

async fn peek_changes_nothing<L: Limiter>(l: Arc<L>) {
    let now = "2025-03-04T10:00:00Z";
    let rules = [Rule::per_minute(2), Rule::per_day(10)];
    let d = l.peek("k", &rules, at(now)).await.unwrap();
    assert!(d.allowed);
    assert_eq!(d.windows[1].remaining, 10);
    for _ in 0..5 {
        l.peek("k", &rules, at(now)).await.unwrap();
    }
    assert!(check(&*l, "k", &rules, 2, now).await.allowed);
    let d = l.peek("k", &rules, at(now)).await.unwrap();
    assert_eq!((d.allowed, d.blocked_by), (false, Some(0)));
    assert_eq!(d.windows.iter().map(|w| w.used).collect::<Vec<_>>(), [2, 2]);
    assert_eq!(used(&*l, "k", &rules, now).await, [2, 2]);
}

async fn keys_are_independent<L: Limiter>(l: Arc<L>) {
    let now = "2025-03-04T10:00:00Z";
    let rules = [Rule::per_minute(1)];
    assert!(check(&*l, "user:a", &rules, 1, now).await.allowed);
    assert!(check(&*l, "user:b", &rules, 1, now).await.allowed);
    assert!(!check(&*l, "user:a", &rules, 1, now).await.allowed);
    assert!(check(&*l, "user:a:minute", &rules, 1, now).await.allowed);
}

async fn rules_on_one_window_share_a_counter<L: Limiter>(l: Arc<L>) {
    let now = "2025-03-04T10:00:00Z";
    let rules = [Rule::per_minute(5), Rule::per_minute(3)];
    for n in 1..=3 {
        let d = check(&*l, "s", &rules, 1, now).await;
        assert!(d.allowed);
        assert_eq!(d.windows.iter().map(|w| w.used).collect::<Vec<_>>(), [n, n]);
    }
    let d = check(&*l, "s", &rules, 1, now).await;
    assert_eq!((d.allowed, d.blocked_by), (false, Some(1)));
    assert_eq!(used(&*l, "s", &[Rule::per_minute(5)], now).await, [3]);
}

async fn no_rules_always_allow<L: Limiter>(l: Arc<L>) {
    let d = check(&*l, "n", &[], 1, "2025-03-04T10:00:00Z").await;
    assert!(d.allowed && d.windows.is_empty() && d.tightest().is_none());
}

/// Spawns 100 simultaneous checks of `rules` on a multi-thread runtime; returns how many passed.
async fn admitted<L: Limiter>(l: &Arc<L>, key: &str, rules: &[Rule], now: &str) -> usize {
    const TASKS: usize = 100;
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut set = JoinSet::new();
    for _ in 0..TASKS {
        let (l, barrier, key, rules, now) = (
            l.clone(),
            barrier.clone(),
            key.to_owned(),
            rules.to_vec(),
            at(now),
        );
        set.spawn(async move {
            barrier.wait().await;
            l.check(&key, &rules, 1, now).await.unwrap().allowed
        });
    }
    set.join_all().await.into_iter().filter(|&ok| ok).count()
}

async fn concurrent_checks_admit_exactly_the_limit<L: Limiter>(l: Arc<L>) {
    let now = "2025-03-04T10:00:00Z";
    assert_eq!(admitted(&l, "c1", &[Rule::per_minute(37)], now).await, 37);
    assert_eq!(used(&*l, "c1", &[Rule::per_minute(37)], now).await, [37]);
    // The limiting rule is not the first one; the others are charged exactly 37 times too.
    let rules = [
        Rule::per_minute(50),
        Rule::per_hour(37),
        Rule::per_day(1000),
    ];
    assert_eq!(admitted(&l, "c2", &rules, now).await, 37);
    assert_eq!(used(&*l, "c2", &rules, now).await, [37, 37, 37]);
}

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
    let now = Utc::now();
    let d = f
        .limiter
        .check("ttl", &[Rule::per_minute(5), Rule::per_day(5)], 1, now)
        .await
        .unwrap();
    assert!(d.allowed);
    let client = ::redis::Client::open(f.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
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
            ttl_ms > window_left - 5_000 && ttl_ms <= window_left + 10_000,
            "{key}: {ttl_ms}"
        );
    }
    f.cleanup().await;
}

#[tokio::test]
async fn unreachable_redis_is_a_backend_error() {
    let started = std::time::Instant::now();
    let err = RedisLimiter::connect("redis://127.0.0.1:1", "x")
        .await
        .unwrap_err();
    assert!(matches!(err, LimiterError::Backend(_)));
    assert!(err.to_string().contains("redis"), "{err}");
    assert!(started.elapsed() < TimeDelta::seconds(30).to_std().unwrap());
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(std::sync::Arc::new(iskra_limiter::MemoryLimiter::new())).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(fixture) = super::RedisFixture::new().await else { return };
                    super::$case(fixture.limiter.clone()).await;
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

#[allow(dead_code)]
fn _memory_limiter_is_a_limiter(l: MemoryLimiter) -> Arc<dyn Limiter> {
    Arc::new(l)
}
