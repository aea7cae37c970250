//! The shared cases: each is generic over [`Limiter`] and gets a fresh, empty limiter. Time is
//! never the wall clock: a case names its instants, or moves a [`ManualClock`] across a window
//! boundary, so every count and reset instant is known exactly.

use chrono::{DateTime, TimeDelta, Utc};
use iskra_clock::ManualClock;
use iskra_limiter::{Decision, Limiter, Rule, Window};
use std::sync::Arc;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn check<L: Limiter>(l: &L, key: &str, rules: &[Rule], cost: i64, now: &str) -> Decision {
    l.check(key, rules, cost, at(now)).await.unwrap()
}

/// One unit charged for `key` at the manual clock's current instant.
async fn tick<L: Limiter>(l: &L, clock: &ManualClock, key: &str, rules: &[Rule]) -> Decision {
    l.check(key, rules, 1, clock.now()).await.unwrap()
}

async fn used<L: Limiter>(l: &L, key: &str, rules: &[Rule], now: &str) -> Vec<i64> {
    let d = l.peek(key, rules, at(now)).await.unwrap();
    d.windows.iter().map(|w| w.used).collect()
}

/// 5/minute + 15/hour + 50/day, the S6 defaults for pro image generation.
const PRO: [Rule; 3] = [Rule::per_minute(5), Rule::per_hour(15), Rule::per_day(50)];

pub async fn counts_up_to_the_limit<L: Limiter>(l: Arc<L>) {
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

pub async fn minute_and_hour_boundaries<L: Limiter>(l: Arc<L>) {
    let clock = ManualClock::new(at("2025-03-04T10:00:00Z"));
    let minute = [Rule::per_minute(1)];
    assert!(tick(&*l, &clock, "m", &minute).await.allowed);
    clock.advance(TimeDelta::milliseconds(59_999));
    let d = tick(&*l, &clock, "m", &minute).await;
    assert!(!d.allowed);
    assert_eq!(d.windows[0].resets_at, at("2025-03-04T10:01:00Z"));
    assert_eq!(d.retry_after_secs(clock.now()), 1);
    clock.advance(TimeDelta::milliseconds(1));
    let d = tick(&*l, &clock, "m", &minute).await;
    assert!(d.allowed);
    assert_eq!(d.windows[0].used, 1);
    assert_eq!(d.windows[0].resets_at, at("2025-03-04T10:02:00Z"));

    clock.set(at("2025-03-04T10:00:00Z"));
    let hour = [Rule::per_hour(1)];
    assert!(tick(&*l, &clock, "h", &hour).await.allowed);
    clock.advance(TimeDelta::milliseconds(3_599_999));
    let d = tick(&*l, &clock, "h", &hour).await;
    assert!(!d.allowed);
    assert_eq!(d.windows[0].resets_at, at("2025-03-04T11:00:00Z"));
    clock.advance(TimeDelta::milliseconds(1));
    let d = tick(&*l, &clock, "h", &hour).await;
    assert!(d.allowed);
    assert_eq!(d.windows[0].resets_at, at("2025-03-04T12:00:00Z"));
}

pub async fn day_resets_at_midnight_utc<L: Limiter>(l: Arc<L>) {
    let clock = ManualClock::new(at("2025-03-04T00:00:00Z"));
    let day = [Rule::per_day(1)];
    assert!(tick(&*l, &clock, "d", &day).await.allowed);
    clock.set(at("2025-03-04T23:59:59.999Z"));
    let d = tick(&*l, &clock, "d", &day).await;
    assert!(!d.allowed);
    assert_eq!(d.windows[0].resets_at, at("2025-03-05T00:00:00Z"));
    // 01:30 at UTC+2 is still March 4th in UTC.
    clock.set(at("2025-03-05T01:30:00+02:00"));
    assert!(!tick(&*l, &clock, "d", &day).await.allowed);
    clock.set(at("2025-03-05T00:00:00Z"));
    let d = tick(&*l, &clock, "d", &day).await;
    assert!(d.allowed);
    assert_eq!(d.windows[0].used, 1);
    assert_eq!(d.windows[0].resets_at, at("2025-03-06T00:00:00Z"));
}

pub async fn all_windows_must_pass_without_partial_increment<L: Limiter>(l: Arc<L>) {
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

pub async fn cost_greater_than_one<L: Limiter>(l: Arc<L>) {
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

pub async fn unlimited_never_blocks<L: Limiter>(l: Arc<L>) {
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

pub async fn resets_after_the_window_passes<L: Limiter>(l: Arc<L>) {
    let clock = ManualClock::new(at("2025-03-04T10:00:20Z"));
    let rules = [Rule::per_minute(2), Rule::per_hour(100)];
    for _ in 0..2 {
        assert!(tick(&*l, &clock, "r", &rules).await.allowed);
    }
    clock.advance(TimeDelta::seconds(30));
    assert!(!tick(&*l, &clock, "r", &rules).await.allowed);
    clock.advance(TimeDelta::seconds(30));
    let d = tick(&*l, &clock, "r", &rules).await;
    assert!(d.allowed);
    assert_eq!(d.windows.iter().map(|w| w.used).collect::<Vec<_>>(), [1, 3]);
    // A day later every window has reset.
    clock.advance(TimeDelta::days(1));
    let d = l.peek("r", &rules, clock.now()).await.unwrap();
    assert_eq!(d.windows.iter().map(|w| w.used).collect::<Vec<_>>(), [0, 0]);
}

pub async fn retry_after_points_past_the_reset<L: Limiter>(l: Arc<L>) {
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

pub async fn peek_changes_nothing<L: Limiter>(l: Arc<L>) {
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

pub async fn keys_are_independent<L: Limiter>(l: Arc<L>) {
    let now = "2025-03-04T10:00:00Z";
    let rules = [Rule::per_minute(1)];
    assert!(check(&*l, "user:a", &rules, 1, now).await.allowed);
    assert!(check(&*l, "user:b", &rules, 1, now).await.allowed);
    assert!(!check(&*l, "user:a", &rules, 1, now).await.allowed);
    assert!(check(&*l, "user:a:minute", &rules, 1, now).await.allowed);
}

pub async fn rules_on_one_window_share_a_counter<L: Limiter>(l: Arc<L>) {
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

pub async fn no_rules_always_allow<L: Limiter>(l: Arc<L>) {
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

pub async fn concurrent_checks_admit_exactly_the_limit<L: Limiter>(l: Arc<L>) {
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
