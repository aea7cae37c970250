//! Retry timing of the outbox: exponential backoff with jitter, or the server's `Retry-After`.
//! Jitter spreads the retries of many devices after an outage so they do not arrive together.

use rand::Rng;
use std::time::Duration;

/// First retry delay (before jitter).
pub const BASE_DELAY: Duration = Duration::from_secs(1);
/// Longest delay between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(300);
/// Longest delay between two attempts to open the event stream.
pub const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(30);
/// Most jitter added on top of a server's `Retry-After`.
pub const RETRY_AFTER_JITTER: Duration = Duration::from_secs(1);

/// Delay before the next attempt after `attempts` failed ones: `Retry-After` when the server
/// gave it (never earlier), else a random point in the upper half of `BASE · 2^attempts`, capped.
pub fn retry_delay(attempts: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(after) = retry_after {
        let jitter = rand::thread_rng().gen_range(0..=RETRY_AFTER_JITTER.as_millis() as u64);
        return after + Duration::from_millis(jitter);
    }
    jittered(attempts, MAX_DELAY)
}

/// Delay before the event stream's next connection attempt after `attempts` failed ones: the
/// same growth, but capped at [`MAX_RECONNECT_DELAY`] — it is the probe that notices the server
/// is back, and the outbox flushes as soon as it does.
pub fn reconnect_delay(attempts: u32) -> Duration {
    jittered(attempts, MAX_RECONNECT_DELAY)
}

/// A random point in the upper half of `BASE · 2^attempts`, capped at `max`.
fn jittered(attempts: u32, max: Duration) -> Duration {
    let ceiling = ceiling(attempts, max);
    let half = ceiling.as_millis() as u64 / 2;
    Duration::from_millis(half + rand::thread_rng().gen_range(0..=half))
}

/// `BASE · 2^attempts`, at most `max`.
fn ceiling(attempts: u32, max: Duration) -> Duration {
    BASE_DELAY.saturating_mul(1u32 << attempts.min(16)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_bounds_and_honours_retry_after() {
        for attempts in 0..40 {
            let (op, probe) = (
                ceiling(attempts, MAX_DELAY),
                ceiling(attempts, MAX_RECONNECT_DELAY),
            );
            for _ in 0..20 {
                let d = retry_delay(attempts, None);
                assert!(d >= op / 2 && d <= op, "{attempts}: {d:?}");
                let d = reconnect_delay(attempts);
                assert!(d >= probe / 2 && d <= probe, "{attempts}: {d:?}");
            }
        }
        assert_eq!(ceiling(40, MAX_DELAY), MAX_DELAY);
        assert_eq!(ceiling(40, MAX_RECONNECT_DELAY), MAX_RECONNECT_DELAY);
        let d = retry_delay(0, Some(Duration::from_secs(30)));
        assert!(d >= Duration::from_secs(30) && d <= Duration::from_secs(31));
    }
}
