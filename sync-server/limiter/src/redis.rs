//! Redis limiter: counters shared by every server replica, one round trip per decision.
//!
//! Each window of each key is one Redis integer at `prefix:key:window:start` (`start` in Unix
//! seconds), expiring shortly after its window ends. A check runs [`CHECK_SCRIPT`], which reads
//! every counter, decides, and only when all windows have room charges them: Redis runs a script
//! atomically, so concurrent checks from any number of replicas never overshoot a limit.

use crate::decision::{first_refusal, Decision};
use crate::window::Rule;
use crate::{clamp_cost, Limiter, LimiterError};
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, RedisResult, Script};
use chrono::{DateTime, Utc};
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// Atomic multi-window check-and-increment.
///
/// `KEYS[i]`: the counter of rule `i`. `ARGV[1]`: the cost. `ARGV[1 + i]`: the limit of rule
/// `i` (negative = unlimited). `ARGV[1 + n + i]`: time to live of `KEYS[i]` in milliseconds.
/// Returns `{blocked, used_1, ..., used_n}`: `blocked` is the 1-based index of the first rule
/// without room (0 when allowed) and `used_i` the counter after the decision. A key listed twice
/// (two rules on one window) is charged once.
const CHECK_SCRIPT: &str = r"
local n = #KEYS
local cost = tonumber(ARGV[1])
local result = {0}
for i = 1, n do
  result[i + 1] = tonumber(redis.call('GET', KEYS[i]) or '0')
end
for i = 1, n do
  local limit = tonumber(ARGV[1 + i])
  if limit >= 0 and result[i + 1] + cost > limit then
    result[1] = i
    return result
  end
end
local charged = {}
for i = 1, n do
  if not charged[KEYS[i]] then
    charged[KEYS[i]] = true
    redis.call('INCRBY', KEYS[i], cost)
    redis.call('PEXPIRE', KEYS[i], ARGV[1 + n + i])
  end
  result[i + 1] = result[i + 1] + cost
end
return result
";

/// How long a counter outlives its window, in milliseconds. Keys are named by window start, so
/// the extra time never leaks into the next window; it only keeps the counter alive for a
/// replica whose clock is a few seconds behind.
const KEY_GRACE_MS: i64 = 10_000;

/// Time allowed to open one connection to Redis.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Time allowed for a whole check or peek, including waiting for a reconnection in progress: a
/// limiter must not hang the request path while Redis is away.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Retries after a failed connection attempt, when connecting or reconnecting.
const CONNECTION_RETRIES: usize = 3;

/// Growth factor of the delay between connection retries. redis 0.27 hands this to `backon` as
/// the per-attempt multiplier (its default of 100 meant delays of a minute), so set it here.
const RETRY_FACTOR: u64 = 2;

/// Longest delay between connection retries, in milliseconds.
const RETRY_MAX_DELAY_MS: u64 = 500;

/// A connection-manager configuration whose retries and timeouts are bounded (a few seconds,
/// not redis 0.27's minutes), for every Redis connection on a request path.
pub fn bounded_connection_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(CONNECTION_TIMEOUT)
        .set_response_timeout(CALL_TIMEOUT)
        .set_number_of_retries(CONNECTION_RETRIES)
        .set_factor(RETRY_FACTOR)
        .set_max_delay(RETRY_MAX_DELAY_MS)
}

/// [`Limiter`] backed by Redis, for several replicas sharing the load. Cloning is cheap and
/// shares the connection, which is multiplexed and re-established automatically after a loss
/// (the commands in flight at that moment fail with [`LimiterError::Backend`]).
#[derive(Clone)]
pub struct RedisLimiter {
    conn: ConnectionManager,
    script: Script,
    /// Key prefix including its trailing `:` (empty when no prefix was given).
    prefix: String,
}

impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisLimiter {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379`) and loads the check script. Keys are
    /// namespaced by `prefix` (e.g. `iskra:rl`), so several deployments can share a Redis.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, LimiterError> {
        let client = Client::open(url).map_err(backend)?;
        let mut conn = client
            .get_connection_manager_with_config(bounded_connection_config())
            .await
            .map_err(backend)?;
        let script = Script::new(CHECK_SCRIPT);
        // Loaded up front so that checks are a single EVALSHA. If Redis later loses its script
        // cache (restart), the first check after that reloads it transparently.
        script
            .prepare_invoke()
            .load_async(&mut conn)
            .await
            .map_err(backend)?;
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}:")
        };
        Ok(RedisLimiter {
            conn,
            script,
            prefix,
        })
    }

    fn counter_key(&self, key: &str, rule: &Rule, now: DateTime<Utc>) -> String {
        let start = rule.window.start_secs(now);
        format!("{}{key}:{}:{start}", self.prefix, rule.window.as_str())
    }
}

fn backend(e: RedisError) -> LimiterError {
    LimiterError::Backend(format!("redis: {e}"))
}

/// Runs one Redis call under [`CALL_TIMEOUT`].
async fn bounded<T>(call: impl Future<Output = RedisResult<T>>) -> Result<T, LimiterError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result.map_err(backend),
        Err(_) => Err(LimiterError::Backend(format!(
            "redis: no reply within {CALL_TIMEOUT:?}"
        ))),
    }
}

#[async_trait::async_trait]
impl Limiter for RedisLimiter {
    async fn check(
        &self,
        key: &str,
        rules: &[Rule],
        cost: i64,
        now: DateTime<Utc>,
    ) -> Result<Decision, LimiterError> {
        if rules.is_empty() {
            return Ok(Decision::from_counts(rules, &[], None, now));
        }
        let cost = clamp_cost(cost);
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(cost);
        for rule in rules {
            invocation.key(self.counter_key(key, rule, now));
            invocation.arg(if rule.is_unlimited() {
                Rule::UNLIMITED
            } else {
                rule.limit
            });
        }
        for rule in rules {
            let ttl_ms = (rule.window.reset_at(now) - now).num_milliseconds().max(1);
            invocation.arg(ttl_ms + KEY_GRACE_MS);
        }
        let mut conn = self.conn.clone();
        let reply: Vec<i64> = bounded(invocation.invoke_async(&mut conn)).await?;
        let (blocked, used) = match reply.split_first() {
            Some((&blocked, used)) if used.len() == rules.len() => (blocked, used),
            _ => {
                let msg = format!(
                    "check script returned {} values, expected {}",
                    reply.len(),
                    1 + rules.len()
                );
                return Err(LimiterError::Backend(msg));
            }
        };
        let blocked_by = usize::try_from(blocked).ok().and_then(|b| b.checked_sub(1));
        Ok(Decision::from_counts(rules, used, blocked_by, now))
    }

    async fn peek(
        &self,
        key: &str,
        rules: &[Rule],
        now: DateTime<Utc>,
    ) -> Result<Decision, LimiterError> {
        if rules.is_empty() {
            return Ok(Decision::from_counts(rules, &[], None, now));
        }
        let keys: Vec<String> = rules
            .iter()
            .map(|r| self.counter_key(key, r, now))
            .collect();
        let mut conn = self.conn.clone();
        let counts: Vec<Option<i64>> =
            bounded(::redis::cmd("MGET").arg(&keys).query_async(&mut conn)).await?;
        if counts.len() != rules.len() {
            let msg = format!(
                "MGET returned {} values, expected {}",
                counts.len(),
                rules.len()
            );
            return Err(LimiterError::Backend(msg));
        }
        let used: Vec<i64> = counts.into_iter().map(Option::unwrap_or_default).collect();
        let blocked_by = first_refusal(rules, &used, 1);
        Ok(Decision::from_counts(rules, &used, blocked_by, now))
    }
}
