//! The circuit breaker in front of fal: after a run of consecutive transient failures it opens,
//! and calls fail fast for a while instead of piling onto a service that is down.
//!
//! It is `failsafe`'s [`StateMachine`] with a consecutive-failures policy and a constant open
//! period. The state machine has no read-only view of its state (asking whether a call is
//! permitted moves it from open to half-open), so an [`Instrument`] notes when it opened: that is
//! what [`Breaker::is_open`] reads for `/health`. Each HTTP attempt is one event: a transient
//! failure (or a lost submit) counts against fal, any answer fal gave on purpose (success,
//! refusal, failed run) counts for it.

use failsafe::backoff::{self, Constant};
use failsafe::failure_policy::{self, ConsecutiveFailures};
use failsafe::{Instrument, StateMachine};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The longest the breaker stays open before letting a trial call through.
pub(crate) const MAX_OPEN: Duration = Duration::from_secs(30);

/// Notes when the state machine opened; cleared when it goes half-open or closes.
#[derive(Clone, Default)]
struct Watch {
    opened_at: Arc<Mutex<Option<Instant>>>,
}

impl Watch {
    fn set(&self, value: Option<Instant>) {
        *self
            .opened_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = value;
    }

    fn get(&self) -> Option<Instant> {
        *self
            .opened_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Instrument for Watch {
    fn on_call_rejected(&self) {}

    fn on_open(&self) {
        tracing::warn!("fal circuit breaker opened: failing calls fast for a while");
        self.set(Some(Instant::now()));
    }

    fn on_half_open(&self) {
        tracing::info!("fal circuit breaker half-open: letting a trial call through");
        self.set(None);
    }

    fn on_closed(&self) {
        if self.get().is_some() {
            tracing::info!("fal circuit breaker closed");
        }
        self.set(None);
    }
}

/// What one attempt says about fal's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// fal answered on purpose (success, refusal, failed run, odd body).
    Answered,
    /// fal could not be reached or answered 5xx/429.
    Failing,
}

/// A consecutive-failures circuit breaker with a constant open period.
#[derive(Clone)]
pub(crate) struct Breaker {
    machine: StateMachine<ConsecutiveFailures<Constant>, Watch>,
    watch: Watch,
    open_for: Duration,
}

impl Breaker {
    /// Opens after `failures` consecutive failures (at least 1), for `open_for` (at most
    /// [`MAX_OPEN`]).
    pub(crate) fn new(failures: u32, open_for: Duration) -> Self {
        let open_for = open_for.min(MAX_OPEN);
        let policy =
            failure_policy::consecutive_failures(failures.max(1), backoff::constant(open_for));
        let watch = Watch::default();
        Breaker {
            machine: StateMachine::new(policy, watch.clone()),
            watch,
            open_for,
        }
    }

    /// Asks to make a call: false while open (the caller must not send anything).
    pub(crate) fn permit(&self) -> bool {
        self.machine.is_call_permitted()
    }

    /// Records what an attempt said about fal.
    pub(crate) fn record(&self, health: Health) {
        match health {
            Health::Answered => self.machine.on_success(),
            Health::Failing => self.machine.on_error(),
        }
    }

    /// True while open and the open period has not run out (calls would fail fast).
    pub(crate) fn is_open(&self) -> bool {
        self.watch
            .get()
            .is_some_and(|since| since.elapsed() < self.open_for)
    }
}

impl std::fmt::Debug for Breaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("open", &self.is_open())
            .field("open_for", &self.open_for)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_only() {
        let b = Breaker::new(3, Duration::from_secs(30));
        for _ in 0..2 {
            assert!(b.permit());
            b.record(Health::Failing);
        }
        // An answer in between resets the run.
        b.record(Health::Answered);
        for _ in 0..2 {
            assert!(b.permit());
            b.record(Health::Failing);
        }
        assert!(!b.is_open());
        b.record(Health::Failing);
        assert!(b.is_open());
        assert!(!b.permit());
    }

    #[test]
    fn trial_call_after_open_period() {
        let b = Breaker::new(1, Duration::ZERO);
        b.record(Health::Failing);
        // A zero open period has already run out: the next call is a trial.
        assert!(!b.is_open());
        let deadline = Instant::now() + Duration::from_secs(5);
        while !b.permit() {
            assert!(Instant::now() < deadline, "no trial call allowed");
            std::thread::yield_now();
        }
        b.record(Health::Answered);
        assert!(b.permit());
        assert!(!b.is_open());
    }

    #[test]
    fn open_period_is_capped() {
        let b = Breaker::new(0, Duration::from_secs(3600));
        assert_eq!(b.open_for, MAX_OPEN);
        b.record(Health::Failing);
        assert!(b.is_open());
    }
}
