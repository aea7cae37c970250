//! Cost of one `MemoryLimiter` decision, through the `Limiter` trait as the server calls it.
//!
//! Run with `cargo bench -p iskra-limiter`. Prints ns/decision for 1 rule and 3 rules, on one
//! thread and on two threads sharing the limiter. Limits are high so that every decision takes
//! the charging path (the slower one). Set `ISKRA_BENCH_REDIS=1` to also time `RedisLimiter`
//! against `redis://127.0.0.1:6379` (sequential round trips).

use chrono::{DateTime, Utc};
use futures::executor::block_on;
use iskra_limiter::{Limiter, MemoryLimiter, RedisLimiter, Rule};
use std::hint::black_box;
use std::time::Instant;

/// Decisions per thread per measurement.
const OPS: usize = 2_000_000;
/// Distinct keys cycled through (users of a busy server).
const KEYS: usize = 10_000;
/// Limit high enough never to refuse during a run.
const HIGH: i64 = i64::MAX / 4;

fn run(limiter: &dyn Limiter, keys: &[String], rules: &[Rule], ops: usize, now: DateTime<Utc>) {
    block_on(async {
        for i in 0..ops {
            let d = limiter.check(&keys[i % keys.len()], rules, 1, now).await;
            black_box(d.unwrap());
        }
    });
}

fn bench(name: &str, rules: &[Rule], threads: usize) {
    let limiter = MemoryLimiter::new();
    let keys: Vec<String> = (0..KEYS).map(|i| format!("user:{i:08}")).collect();
    let now = Utc::now();
    run(&limiter, &keys, rules, KEYS * 10, now); // warm up: every key present
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| run(&limiter, &keys, rules, OPS, now));
        }
    });
    let elapsed = start.elapsed().as_nanos() as f64;
    let per_thread = elapsed / OPS as f64;
    let aggregate = elapsed / (OPS * threads) as f64;
    println!(
        "memory {name:<7} {threads} thread(s): {per_thread:7.1} ns/decision per thread, \
         {aggregate:7.1} ns/decision aggregate"
    );
}

fn bench_redis(rules: &[Rule]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let prefix = format!("iskra-bench:{}", std::process::id());
        let limiter = RedisLimiter::connect("redis://127.0.0.1:6379", &prefix)
            .await
            .unwrap();
        let now = Utc::now();
        let ops = 20_000;
        let start = Instant::now();
        for i in 0..ops {
            black_box(
                limiter
                    .check(&format!("u{}", i % 100), rules, 1, now)
                    .await
                    .unwrap(),
            );
        }
        let per = start.elapsed().as_nanos() as f64 / ops as f64;
        println!(
            "redis  {} rule(s) sequential: {per:9.1} ns/decision",
            rules.len()
        );
        // Remove this run's counters rather than leave them until they expire.
        let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let pattern = format!("{prefix}:*");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut conn)
            .await
            .unwrap();
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    });
}

fn main() {
    let one = [Rule::per_minute(HIGH)];
    let three = [
        Rule::per_minute(HIGH),
        Rule::per_hour(HIGH),
        Rule::per_day(HIGH),
    ];
    for threads in [1, 2] {
        bench("1 rule", &one, threads);
        bench("3 rules", &three, threads);
    }
    if std::env::var("ISKRA_BENCH_REDIS").as_deref() == Ok("1") {
        bench_redis(&one);
        bench_redis(&three);
    }
}
