//! The outcome of a limit check and what the HTTP layer reports from it.
//!
//! Both limiter implementations only produce per-rule counters and the index of the refusing
//! rule; everything derived from those (remaining units, reset instants, `Retry-After`, the
//! window reported in `RateLimit-*` headers) is computed here, so they report identically.

use crate::window::{Rule, Window};
use chrono::{DateTime, Utc};

/// Usage of one window after a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowState {
    /// The window.
    pub window: Window,
    /// The rule's limit; `-1` means unlimited.
    pub limit: i64,
    /// Units counted in the current window, including this decision's cost if it was allowed.
    pub used: i64,
    /// Units left in the current window (never negative); `-1` when unlimited.
    pub remaining: i64,
    /// When the current window ends and its counter starts again from zero.
    pub resets_at: DateTime<Utc>,
}

impl WindowState {
    fn new(rule: &Rule, used: i64, now: DateTime<Utc>) -> Self {
        let remaining = if rule.is_unlimited() {
            Rule::UNLIMITED
        } else {
            rule.limit.saturating_sub(used).max(0)
        };
        WindowState {
            window: rule.window,
            limit: if rule.is_unlimited() {
                Rule::UNLIMITED
            } else {
                rule.limit
            },
            used,
            remaining,
            resets_at: rule.window.reset_at(now),
        }
    }

    fn is_limited(&self) -> bool {
        self.limit >= 0
    }
}

/// The result of [`Limiter::check`](crate::Limiter::check) or
/// [`Limiter::peek`](crate::Limiter::peek).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Whether the request may proceed (and, for `check`, was counted in every window).
    pub allowed: bool,
    /// One state per rule, in the order of the rules; `used` is after this decision.
    pub windows: Vec<WindowState>,
    /// Index of the first rule that refused, `None` when allowed.
    pub blocked_by: Option<usize>,
}

impl Decision {
    /// Builds a decision from the per-rule counters after the decision.
    pub(crate) fn from_counts(
        rules: &[Rule],
        used: &[i64],
        blocked_by: Option<usize>,
        now: DateTime<Utc>,
    ) -> Self {
        debug_assert_eq!(rules.len(), used.len());
        let windows = rules
            .iter()
            .zip(used)
            .map(|(r, &u)| WindowState::new(r, u, now))
            .collect();
        Decision {
            allowed: blocked_by.is_none(),
            windows,
            blocked_by,
        }
    }

    /// Seconds until a refused request can succeed, for the `Retry-After` header: at least 1
    /// when refused, 0 when allowed.
    ///
    /// The refusing window and every other limited window that is already exhausted must reset
    /// first, so this waits for the latest of them; a client that honours it is not refused
    /// again straight away by a longer window. (A window that has some room left but less than a
    /// large `cost` is only known to block when it is the refusing rule.)
    pub fn retry_after_secs(&self, now: DateTime<Utc>) -> u64 {
        let Some(blocked) = self.blocked_by else {
            return 0;
        };
        let latest = self
            .windows
            .iter()
            .enumerate()
            .filter(|(i, w)| *i == blocked || (w.is_limited() && w.remaining == 0))
            .map(|(_, w)| w.resets_at)
            .max();
        let Some(latest) = latest else {
            return 1;
        };
        let millis = (latest - now).num_milliseconds();
        // Round up: retrying after a truncated number of seconds would be refused again.
        u64::try_from(millis).map_or(1, |ms| ms.div_ceil(1000).max(1))
    }

    /// The window to report in `RateLimit-*` headers and 429 bodies: the refusing one, otherwise
    /// the limited window with the fewest units left (on a tie, the one resetting last). `None`
    /// when there is no limited window (no rules, or all unlimited).
    pub fn tightest(&self) -> Option<&WindowState> {
        if let Some(i) = self.blocked_by {
            return self.windows.get(i);
        }
        self.windows
            .iter()
            .filter(|w| w.is_limited())
            .min_by_key(|w| (w.remaining, std::cmp::Reverse(w.resets_at)))
    }
}

/// Index of the first rule without room for `cost`, given each rule's current usage.
pub(crate) fn first_refusal(rules: &[Rule], used: &[i64], cost: i64) -> Option<usize> {
    rules
        .iter()
        .zip(used)
        .position(|(r, &u)| !r.admits(u, cost))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const RULES: [Rule; 3] = [Rule::per_minute(5), Rule::per_hour(15), Rule::per_day(50)];

    #[test]
    fn states_follow_rules() {
        let now = at("2025-06-01T12:34:56Z");
        let d = Decision::from_counts(&RULES, &[2, 14, 20], None, now);
        assert!(d.allowed);
        let remaining: Vec<_> = d.windows.iter().map(|w| w.remaining).collect();
        assert_eq!(remaining, [3, 1, 30]);
        assert_eq!(d.windows[2].resets_at, at("2025-06-02T00:00:00Z"));
        assert_eq!(d.tightest().unwrap().window, Window::Hour);
        assert_eq!(d.retry_after_secs(now), 0);
    }

    #[test]
    fn refused_reports_blocking_window() {
        let now = at("2025-06-01T12:34:45.500Z");
        let d = Decision::from_counts(&RULES, &[5, 6, 6], Some(0), now);
        assert!(!d.allowed);
        assert_eq!(d.tightest().unwrap().window, Window::Minute);
        assert_eq!(d.tightest().unwrap().remaining, 0);
        // 14.5 s left in the minute, rounded up.
        assert_eq!(d.retry_after_secs(now), 15);
        // Just before the reset it is still at least one second.
        assert_eq!(d.retry_after_secs(at("2025-06-01T12:34:59.999Z")), 1);
        // A stale decision evaluated after its reset still says one second.
        assert_eq!(d.retry_after_secs(at("2025-06-01T12:40:00Z")), 1);
    }

    #[test]
    fn retry_after_waits_for_every_exhausted_window() {
        let now = at("2025-06-01T23:00:00Z");
        let d = Decision::from_counts(&RULES, &[5, 10, 50], Some(0), now);
        assert_eq!(d.tightest().unwrap().window, Window::Minute);
        assert_eq!(d.retry_after_secs(now), 3600);
    }

    #[test]
    fn unlimited_windows() {
        let now = at("2025-06-01T00:00:00Z");
        let rules = [Rule::per_minute(3), Rule::unlimited(Window::Day)];
        let d = Decision::from_counts(&rules, &[1, 1_000], None, now);
        assert_eq!(d.windows[1].limit, -1);
        assert_eq!(d.windows[1].remaining, -1);
        assert_eq!(d.tightest().unwrap().window, Window::Minute);
        let only_unlimited = [Rule::unlimited(Window::Hour)];
        let d = Decision::from_counts(&only_unlimited, &[9], None, now);
        assert!(d.tightest().is_none());
        let none = Decision::from_counts(&[], &[], None, now);
        assert!(none.allowed && none.tightest().is_none());
    }

    #[test]
    fn tie_prefers_the_longer_window() {
        let now = at("2025-06-01T00:00:00Z");
        let rules = [Rule::per_minute(5), Rule::per_hour(5)];
        let d = Decision::from_counts(&rules, &[2, 2], None, now);
        assert_eq!(d.tightest().unwrap().window, Window::Hour);
    }

    #[test]
    fn refusal_index() {
        assert_eq!(first_refusal(&RULES, &[4, 14, 49], 1), None);
        assert_eq!(first_refusal(&RULES, &[4, 15, 50], 1), Some(1));
        assert_eq!(first_refusal(&RULES, &[0, 0, 0], 6), Some(0));
    }
}
