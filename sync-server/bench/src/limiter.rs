//! Rate-limiter decision cost, measured in-process: `MemoryLimiter::check` through the
//! `Limiter` trait object as the server calls it, cycling over many keys, with limits that
//! never refuse so that every decision takes the charging (slower) path. The method of
//! `cargo bench -p iskra-limiter`, reduced to the single-threaded figure that has a target.

use crate::report::{Bound, Row};
use anyhow::Result;
use futures::executor::block_on;
use iskra_limiter::{Limiter, LimiterError, MemoryLimiter, Rule};
use std::hint::black_box;
use std::time::Instant;

/// Timed decisions per rule set.
const DECISIONS: usize = 1_000_000;
/// Distinct keys cycled through (users of a busy server).
const KEYS: usize = 10_000;
/// A limit high enough never to refuse during a run.
const HIGH: i64 = i64::MAX / 4;
/// Target: cost of one decision, ns.
const TARGET_NS: f64 = 2_000.0;

/// Mean cost of one decision under `rules`, in ns.
fn ns_per_decision(rules: &[Rule]) -> Result<f64, LimiterError> {
    let limiter: Box<dyn Limiter> = Box::new(MemoryLimiter::new());
    let keys: Vec<String> = (0..KEYS).map(|i| format!("user:{i:08}")).collect();
    let now = chrono::Utc::now();
    let decide = |count: usize| {
        block_on(async {
            for i in 0..count {
                black_box(limiter.check(&keys[i % KEYS], rules, 1, now).await?);
            }
            Ok(())
        })
    };
    decide(KEYS)?; // warm up: every key present
    let start = Instant::now();
    decide(DECISIONS)?;
    Ok(start.elapsed().as_nanos() as f64 / DECISIONS as f64)
}

/// Measurement 5: ns/decision with one window (minute) and with three (minute, hour, day).
pub fn run() -> Result<Vec<Row>> {
    let one = [Rule::per_minute(HIGH)];
    let three = [
        Rule::per_minute(HIGH),
        Rule::per_hour(HIGH),
        Rule::per_day(HIGH),
    ];
    let mut rows = Vec::new();
    for (name, rules) in [("1 rule", &one[..]), ("3 rules", &three[..])] {
        let ns = ns_per_decision(rules)?;
        let name = format!("limiter decision, {name}");
        rows.push(Row::new(name, ns, "ns", Bound::Max(TARGET_NS)));
    }
    Ok(rows)
}
