//! Fixed time windows aligned to UTC and the rules that limit them.
//!
//! A window is identified by its start: the start of the current minute, the start of the current
//! hour, or midnight UTC. Unix time has no leap seconds, so every window start is a multiple of
//! the window length in Unix seconds; that is what [`Window::start_secs`] computes.

use chrono::{DateTime, Utc};
use std::fmt;

/// Seconds in a minute window.
const MINUTE_SECS: i64 = 60;
/// Seconds in an hour window.
const HOUR_SECS: i64 = 60 * MINUTE_SECS;
/// Seconds in a day window (a UTC day; Unix time has no leap seconds).
const DAY_SECS: i64 = 24 * HOUR_SECS;

/// A fixed window aligned to UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Window {
    /// From the start of a minute to the start of the next one.
    Minute,
    /// From the start of an hour to the start of the next one.
    Hour,
    /// From midnight UTC to the next midnight UTC.
    Day,
}

impl Window {
    /// Every window, shortest first.
    pub const ALL: [Window; 3] = [Window::Minute, Window::Hour, Window::Day];

    /// The name used in keys, JSON bodies and logs: `"minute"`, `"hour"` or `"day"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Minute => "minute",
            Window::Hour => "hour",
            Window::Day => "day",
        }
    }

    /// The window length in seconds.
    pub fn duration_secs(self) -> i64 {
        match self {
            Window::Minute => MINUTE_SECS,
            Window::Hour => HOUR_SECS,
            Window::Day => DAY_SECS,
        }
    }

    /// Start of the window containing `now`, in Unix seconds.
    pub fn start_secs(self, now: DateTime<Utc>) -> i64 {
        let len = self.duration_secs();
        now.timestamp().div_euclid(len) * len
    }

    /// Start of the window containing `now` (inclusive).
    pub fn start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        from_secs(self.start_secs(now))
    }

    /// End of the window containing `now` (exclusive): the instant its counter resets.
    pub fn reset_at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        from_secs(self.start_secs(now) + self.duration_secs())
    }

    /// Dense index `0..3`, used to address per-window slots.
    pub(crate) fn index(self) -> usize {
        match self {
            Window::Minute => 0,
            Window::Hour => 1,
            Window::Day => 2,
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Converts Unix seconds to a UTC instant. Window starts derived from a valid `DateTime` are in
/// chrono's range (a day past its maximum at worst), so saturating there is purely defensive.
fn from_secs(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A limit on one window: at most `limit` units per window, or unlimited when `limit` is
/// [`Rule::UNLIMITED`] (any negative value is treated as unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The window the limit applies to.
    pub window: Window,
    /// Units allowed per window; `-1` means unlimited.
    pub limit: i64,
}

impl Rule {
    /// The `limit` value meaning "no limit" (the same `-1` the API reports).
    pub const UNLIMITED: i64 = -1;

    /// A rule allowing `limit` units per `window`.
    pub const fn new(window: Window, limit: i64) -> Self {
        Rule { window, limit }
    }

    /// `limit` units per minute.
    pub const fn per_minute(limit: i64) -> Self {
        Rule::new(Window::Minute, limit)
    }

    /// `limit` units per hour.
    pub const fn per_hour(limit: i64) -> Self {
        Rule::new(Window::Hour, limit)
    }

    /// `limit` units per UTC day.
    pub const fn per_day(limit: i64) -> Self {
        Rule::new(Window::Day, limit)
    }

    /// A rule that never blocks (usage is still counted).
    pub const fn unlimited(window: Window) -> Self {
        Rule::new(window, Rule::UNLIMITED)
    }

    /// Whether this rule never blocks.
    pub const fn is_unlimited(&self) -> bool {
        self.limit < 0
    }

    /// Whether a window already holding `used` units has room for `cost` more.
    pub(crate) fn admits(&self, used: i64, cost: i64) -> bool {
        self.is_unlimited()
            || used
                .checked_add(cost)
                .is_some_and(|total| total <= self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn names() {
        let names: Vec<_> = Window::ALL.iter().map(|w| w.to_string()).collect();
        assert_eq!(names, ["minute", "hour", "day"]);
    }

    #[test]
    fn minute_boundaries() {
        let w = Window::Minute;
        assert_eq!(
            w.start(at("2025-03-04T10:20:30.5Z")),
            at("2025-03-04T10:20:00Z")
        );
        assert_eq!(
            w.reset_at(at("2025-03-04T10:20:30.5Z")),
            at("2025-03-04T10:21:00Z")
        );
        // The start is inclusive, the end exclusive.
        assert_eq!(
            w.start(at("2025-03-04T10:21:00Z")),
            at("2025-03-04T10:21:00Z")
        );
        assert_eq!(
            w.start(at("2025-03-04T10:20:59.999999Z")),
            at("2025-03-04T10:20:00Z")
        );
    }

    #[test]
    fn hour_boundaries() {
        let w = Window::Hour;
        assert_eq!(
            w.start(at("2025-03-04T10:59:59.9Z")),
            at("2025-03-04T10:00:00Z")
        );
        assert_eq!(
            w.reset_at(at("2025-03-04T10:59:59.9Z")),
            at("2025-03-04T11:00:00Z")
        );
        assert_eq!(
            w.start(at("2025-03-04T11:00:00Z")),
            at("2025-03-04T11:00:00Z")
        );
        assert_eq!(
            w.reset_at(at("2025-12-31T23:10:00Z")),
            at("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn day_resets_at_midnight_utc() {
        let w = Window::Day;
        assert_eq!(
            w.start(at("2025-03-04T23:59:59.999Z")),
            at("2025-03-04T00:00:00Z")
        );
        assert_eq!(
            w.reset_at(at("2025-03-04T23:59:59.999Z")),
            at("2025-03-05T00:00:00Z")
        );
        assert_eq!(
            w.start(at("2025-03-05T00:00:00Z")),
            at("2025-03-05T00:00:00Z")
        );
        // Local offsets do not matter: 01:30 in UTC+02:00 is 23:30 UTC on the previous day.
        assert_eq!(
            w.start(at("2025-03-05T01:30:00+02:00")),
            at("2025-03-04T00:00:00Z")
        );
        // Leap day and year end.
        assert_eq!(
            w.reset_at(at("2024-02-28T12:00:00Z")),
            at("2024-02-29T00:00:00Z")
        );
        assert_eq!(
            w.reset_at(at("2024-12-31T00:00:00Z")),
            at("2025-01-01T00:00:00Z")
        );
    }

    #[test]
    fn before_the_epoch_rounds_down() {
        assert_eq!(
            Window::Minute.start(at("1969-12-31T23:59:30Z")),
            at("1969-12-31T23:59:00Z")
        );
        assert_eq!(
            Window::Day.start(at("1969-12-31T12:00:00Z")),
            at("1969-12-31T00:00:00Z")
        );
    }

    #[test]
    fn rule_admits() {
        assert!(Rule::per_minute(5).admits(4, 1));
        assert!(!Rule::per_minute(5).admits(5, 1));
        assert!(!Rule::per_minute(5).admits(2, 4));
        assert!(!Rule::per_minute(0).admits(0, 1));
        assert!(Rule::unlimited(Window::Day).admits(i64::MAX, 1_000));
        assert!(Rule::per_day(-7).is_unlimited());
        assert!(!Rule::per_day(i64::MAX).admits(i64::MAX, 1));
    }
}
