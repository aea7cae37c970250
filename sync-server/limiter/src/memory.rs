//! In-process limiter: sharded maps of counters, for a single server process.
//!
//! Each key owns one [`Entry`] holding a counter slot per window kind, and an entry lives in
//! exactly one shard, so a multi-window check-and-increment is atomic under one short mutex
//! hold. A slot remembers the window start it counts for; a slot from an earlier window reads
//! as zero and is restarted when charged. Entries whose windows have all ended are swept.

use crate::decision::{first_refusal, Decision};
use crate::window::{Rule, Window};
use crate::{clamp_cost, Limiter, LimiterError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Number of shards (a power of two). Far more than the cores of a server, so two requests
/// rarely wait for the same lock.
const SHARDS: usize = 64;

/// A shard is swept after at least this many checks, and at least as many checks as it holds
/// entries: the sweep's cost is amortized to O(1) per check, and a shard holds at most about
/// twice the keys seen in the last day plus this many. (A shard that receives no checks at all
/// is not swept, but it does not grow either.)
const SWEEP_MIN_OPS: usize = 1024;

/// Window start of a slot that has never been charged.
const NEVER: i64 = i64::MIN;

/// Usage of one window kind: `count` units in the window starting at `start` (Unix seconds).
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: i64,
    count: i64,
}

/// All counters of one key, one slot per [`Window`] (indexed by [`Window::index`]).
#[derive(Debug, Clone, Copy)]
struct Entry {
    slots: [Slot; Window::ALL.len()],
}

impl Default for Entry {
    fn default() -> Self {
        Entry {
            slots: [Slot {
                start: NEVER,
                count: 0,
            }; Window::ALL.len()],
        }
    }
}

impl Entry {
    /// Units counted in the window starting at `start`. A slot for a *later* window (another
    /// caller's clock was ahead, or this one went back) is reported as is: conservative, it
    /// can only refuse earlier, never admit more than the limit of the window in progress.
    fn used(&self, window: Window, start: i64) -> i64 {
        let slot = self.slots[window.index()];
        if slot.start >= start {
            slot.count
        } else {
            0
        }
    }

    /// Adds `cost` to the window starting at `start`, restarting the slot if it is older.
    fn charge(&mut self, window: Window, start: i64, cost: i64) {
        let slot = &mut self.slots[window.index()];
        if slot.start < start {
            *slot = Slot { start, count: 0 };
        }
        slot.count = slot.count.saturating_add(cost);
    }

    /// Whether every slot's window has ended at `now` (Unix seconds), so the entry is useless.
    fn is_expired(&self, now: i64) -> bool {
        Window::ALL.iter().all(|w| {
            let start = self.slots[w.index()].start;
            start == NEVER || start.saturating_add(w.duration_secs()) <= now
        })
    }
}

/// One lock's worth of keys.
#[derive(Debug, Default)]
struct Shard {
    entries: HashMap<Box<str>, Entry>,
    /// Checks since the last sweep.
    ops: usize,
}

impl Shard {
    fn maybe_sweep(&mut self, now: i64) {
        self.ops += 1;
        if self.ops >= self.entries.len().max(SWEEP_MIN_OPS) {
            self.entries.retain(|_, e| !e.is_expired(now));
            self.ops = 0;
        }
    }
}

/// In-process [`Limiter`]: exact, atomic, and cheap (well under a microsecond per decision),
/// but per process; use [`RedisLimiter`](crate::RedisLimiter) when replicas share the load.
#[derive(Debug)]
pub struct MemoryLimiter {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        MemoryLimiter {
            shards,
            hasher: RandomState::new(),
        }
    }

    /// Number of keys currently holding counters (including ended windows not yet swept).
    pub fn tracked_keys(&self) -> usize {
        self.shards.iter().map(|s| lock(s).entries.len()).sum()
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        // Truncating the hash is fine: only the low bits pick the shard.
        let index = self.hasher.hash_one(key) as usize & (SHARDS - 1);
        lock(&self.shards[index])
    }

    /// The whole check-and-increment, under one shard lock.
    fn check_now(&self, key: &str, rules: &[Rule], cost: i64, now: DateTime<Utc>) -> Decision {
        if rules.is_empty() {
            return Decision::from_counts(rules, &[], None, now);
        }
        let cost = clamp_cost(cost);
        let starts: Vec<i64> = rules.iter().map(|r| r.window.start_secs(now)).collect();
        let mut shard = self.shard(key);
        shard.maybe_sweep(now.timestamp());
        let entry = shard.entries.get_mut(key);
        let mut used: Vec<i64> = match &entry {
            Some(e) => rules
                .iter()
                .zip(&starts)
                .map(|(r, &s)| e.used(r.window, s))
                .collect(),
            None => vec![0; rules.len()],
        };
        let blocked_by = first_refusal(rules, &used, cost);
        if blocked_by.is_none() {
            let is_new = entry.is_none();
            let mut fresh = Entry::default();
            let target = match entry {
                Some(e) => e,
                None => &mut fresh,
            };
            // Several rules on one window share its counter: charge each window once.
            let mut charged = [false; Window::ALL.len()];
            for (rule, &start) in rules.iter().zip(&starts) {
                if !std::mem::replace(&mut charged[rule.window.index()], true) {
                    target.charge(rule.window, start, cost);
                }
            }
            for u in &mut used {
                *u = u.saturating_add(cost);
            }
            if is_new {
                shard.entries.insert(key.into(), fresh);
            }
        }
        drop(shard);
        Decision::from_counts(rules, &used, blocked_by, now)
    }

    fn peek_now(&self, key: &str, rules: &[Rule], now: DateTime<Utc>) -> Decision {
        let used: Vec<i64> = {
            let shard = self.shard(key);
            match shard.entries.get(key) {
                Some(e) => rules
                    .iter()
                    .map(|r| e.used(r.window, r.window.start_secs(now)))
                    .collect(),
                None => vec![0; rules.len()],
            }
        };
        let blocked_by = first_refusal(rules, &used, 1);
        Decision::from_counts(rules, &used, blocked_by, now)
    }
}

/// Locks a shard. Counters are plain integers updated without intermediate states, so a shard
/// poisoned by a panicking thread is still consistent and is used as is.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait::async_trait]
impl Limiter for MemoryLimiter {
    async fn check(
        &self,
        key: &str,
        rules: &[Rule],
        cost: i64,
        now: DateTime<Utc>,
    ) -> Result<Decision, LimiterError> {
        Ok(self.check_now(key, rules, cost, now))
    }

    async fn peek(
        &self,
        key: &str,
        rules: &[Rule],
        now: DateTime<Utc>,
    ) -> Result<Decision, LimiterError> {
        Ok(self.peek_now(key, rules, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn expired_entries_are_swept() {
        let limiter = MemoryLimiter::new();
        let t0 = at("2025-01-01T10:00:00Z");
        let rules = [Rule::per_minute(10), Rule::per_day(100)];
        let n = SHARDS * SWEEP_MIN_OPS;
        for i in 0..n {
            assert!(limiter.check_now(&format!("k{i}"), &rules, 1, t0).allowed);
        }
        assert_eq!(limiter.tracked_keys(), n);
        // Still inside the day window: nothing may be dropped.
        let later_today = t0 + TimeDelta::hours(2);
        for i in 0..n {
            limiter.check_now(&format!("k{i}"), &rules, 1, later_today);
        }
        assert_eq!(limiter.tracked_keys(), n);
        // The next day, traffic from other keys sweeps every shard; only the new keys remain.
        let tomorrow = t0 + TimeDelta::days(1);
        let new_keys: Vec<String> = (0..1000).map(|i| format!("new{i}")).collect();
        for i in 0..8 * n {
            limiter.check_now(&new_keys[i % new_keys.len()], &rules, 0, tomorrow);
        }
        assert_eq!(limiter.tracked_keys(), new_keys.len());
    }

    #[test]
    fn refused_check_on_unknown_key_stores_nothing() {
        let limiter = MemoryLimiter::new();
        let now = at("2025-01-01T10:00:00Z");
        assert!(
            !limiter
                .check_now("k", &[Rule::per_minute(1)], 2, now)
                .allowed
        );
        assert!(limiter.peek_now("k", &[Rule::per_minute(1)], now).allowed);
        assert_eq!(limiter.tracked_keys(), 0);
    }

    #[test]
    fn clock_going_back_is_conservative() {
        let limiter = MemoryLimiter::new();
        let rules = [Rule::per_minute(2)];
        let now = at("2025-01-01T10:01:00Z");
        assert!(limiter.check_now("k", &rules, 2, now).allowed);
        let before = now - TimeDelta::milliseconds(1);
        assert!(!limiter.check_now("k", &rules, 1, before).allowed);
    }

    #[test]
    fn negative_limit_means_unlimited() {
        let limiter = MemoryLimiter::new();
        let now = at("2025-01-01T10:00:00Z");
        let d = limiter.check_now("k", &[Rule::per_minute(-5)], 3, now);
        assert!(d.allowed);
        assert_eq!((d.windows[0].limit, d.windows[0].used), (-1, 3));
    }
}
