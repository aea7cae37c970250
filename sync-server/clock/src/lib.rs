//! The server's notion of "now": the system clock in production, a manual clock in tests.
//!
//! Everything that depends on the time of day — limiter windows (minutes, hours, UTC days),
//! token `exp` / `nbf`, the JWKS refetch interval, usage counted per UTC day — reads a
//! [`Clock`] held in the server state instead of calling `Utc::now()` itself. Tests hold a
//! [`ManualClock`] and cross a minute, an hour or midnight UTC by [`ManualClock::advance`]
//! instead of waiting for the wall clock.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::{Arc, Mutex, PoisonError};

/// A source of the current UTC instant. Cheap to clone; clones of a manual clock share its time.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The operating system's wall clock.
    #[default]
    System,
    /// A clock that stands still until its [`ManualClock`] moves it.
    Manual(ManualClock),
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock::System
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Manual(manual) => manual.now(),
        }
    }

    /// The current instant in whole Unix seconds.
    pub fn unix_secs(&self) -> i64 {
        self.now().timestamp()
    }
}

impl From<ManualClock> for Clock {
    fn from(manual: ManualClock) -> Self {
        Clock::Manual(manual)
    }
}

/// A clock set and moved by hand (tests). Clones share one time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    /// The clock's current instant.
    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the clock by `by` (forwards, or backwards when negative); returns the new instant.
    pub fn advance(&self, by: TimeDelta) -> DateTime<Utc> {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
        *now
    }

    /// Puts the clock at `to`.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }

    /// A [`Clock`] reading this manual clock.
    pub fn clock(&self) -> Clock {
        Clock::Manual(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_by_hand_and_clones_share_it() {
        let start = DateTime::parse_from_rfc3339("2026-12-01T23:59:30Z")
            .unwrap()
            .with_timezone(&Utc);
        let manual = ManualClock::new(start);
        let clock = manual.clock();
        assert_eq!(clock.now(), start);
        assert_eq!(clock.clone().now(), start);
        manual.advance(TimeDelta::seconds(45));
        assert_eq!(clock.now().to_rfc3339(), "2026-12-02T00:00:15+00:00");
        assert_eq!(clock.unix_secs(), start.timestamp() + 45);
        manual.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn system_clock_is_the_default() {
        assert!(matches!(Clock::default(), Clock::System));
    }
}
