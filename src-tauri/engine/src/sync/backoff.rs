//! Retry timing of the outbox: exponential backoff with jitter, or the server's `Retry-After`.
//! Jitter spreads the retries of many devices after an outage so they do not arrive together.

use rand::Rng;
use std::time::Duration;

/// First retry delay (before jitter).
pub const BASE_DELAY: Duration = Duration::from_secs(1);
/// Longest delay between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(300);
/// Most jitter added on top of a server's `Retry-After`.
pub const RETRY_AFTER_JITTER: Duration = Duration::from_secs(1);

/// Delay before the next attempt after `attempts` failed ones: `Retry-After` when the server
/// gave it (never earlier), else a random point in the upper half of `BASE · 2^attempts`, capped.
pub fn retry_delay(attempts: u32, retry_after: Option<Duration>) -> Duration {
    let mut rng = rand::thread_rng();
    if let Some(after) = retry_after {
        let jitter = rng.gen_range(0..=RETRY_AFTER_JITTER.as_millis() as u64);
        return after + Duration::from_millis(jitter);
    }
    let ceiling = BASE_DELAY
        .saturating_mul(1u32 << attempts.min(16))
        .min(MAX_DELAY);
    let half = ceiling.as_millis() as u64 / 2;
    Duration::from_millis(half + rng.gen_range(0..=half))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_bounds_and_honours_retry_after() {
        for attempts in 0..40 {
            let ceiling = BASE_DELAY
                .saturating_mul(1u32 << attempts.min(16))
                .min(MAX_DELAY);
            for _ in 0..20 {
                let d = retry_delay(attempts, None);
                assert!(d >= ceiling / 2 && d <= ceiling, "{attempts}: {d:?}");
            }
        }
        let d = retry_delay(0, Some(Duration::from_secs(30)));
        assert!(d >= Duration::from_secs(30) && d <= Duration::from_secs(31));
    }
}
