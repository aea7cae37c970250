//! Hybrid logical clock: wall-clock milliseconds, a counter and a node id.
//!
//! Wire form `0001732300000000-000003-3f2a9c`: zero-padded milliseconds, `-`, a 6-digit counter,
//! `-`, the node id. Ordering is (millis, counter, node id) — ties on time are broken by node
//! id, so two distinct clocks never compare equal and every replica picks the same winner.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Longest node id accepted on the wire.
pub const MAX_NODE_LEN: usize = 64;
/// Largest counter value that fits the 6-digit wire field.
pub const MAX_COUNTER: u32 = 999_999;
/// Largest wall time accepted: 16 decimal digits of milliseconds.
pub const MAX_MILLIS: u64 = 9_999_999_999_999_999;

/// One timestamp of a hybrid logical clock.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hlc {
    pub millis: u64,
    pub counter: u32,
    pub node: String,
}

/// Why a string is not a valid HLC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid clock {0:?}: expected MILLIS-COUNTER-NODE, e.g. 0001732300000000-000003-3f2a9c")]
pub struct HlcParseError(pub String);

impl Hlc {
    pub fn new(millis: u64, counter: u32, node: impl Into<String>) -> Self {
        Self {
            millis,
            counter,
            node: node.into(),
        }
    }
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.millis, self.counter, self.node.as_str()).cmp(&(
            other.millis,
            other.counter,
            other.node.as_str(),
        ))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016}-{:06}-{}", self.millis, self.counter, self.node)
    }
}

fn valid_node(node: &str) -> bool {
    !node.is_empty()
        && node.len() <= MAX_NODE_LEN
        && node
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl FromStr for Hlc {
    type Err = HlcParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || HlcParseError(s.chars().take(100).collect());
        let mut parts = s.splitn(3, '-');
        let (Some(m), Some(c), Some(node)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err());
        };
        let digits = |t: &str, max: usize| {
            !t.is_empty() && t.len() <= max && t.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(m, 16) || !digits(c, 6) || !valid_node(node) {
            return Err(err());
        }
        Ok(Self {
            millis: m.parse().map_err(|_| err())?,
            counter: c.parse().map_err(|_| err())?,
            node: node.to_owned(),
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A device's clock: issues strictly increasing timestamps and absorbs remote ones.
#[derive(Debug, Clone)]
pub struct Clock {
    node: String,
    last: Hlc,
}

impl Clock {
    /// A clock for `node` (must be a valid node id: ASCII letters, digits, `_`, `-`).
    pub fn new(node: impl Into<String>) -> Self {
        let node = node.into();
        debug_assert!(valid_node(&node));
        Self {
            last: Hlc::new(0, 0, node.clone()),
            node,
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// The latest timestamp issued or observed (to persist across restarts).
    pub fn last(&self) -> &Hlc {
        &self.last
    }

    /// Restores a clock that already issued or observed `last` (e.g. after a restart).
    pub fn resume(node: impl Into<String>, last: &Hlc) -> Self {
        let mut clock = Self::new(node);
        clock.observe(last);
        clock
    }

    /// The next timestamp at wall time `now_millis`: later than every one issued or observed.
    pub fn tick(&mut self, now_millis: u64) -> Hlc {
        if now_millis > self.last.millis {
            self.last = Hlc::new(now_millis, 0, self.node.clone());
        } else if self.last.counter < MAX_COUNTER {
            self.last = Hlc::new(self.last.millis, self.last.counter + 1, self.node.clone());
        } else {
            self.last = Hlc::new(self.last.millis + 1, 0, self.node.clone());
        }
        self.last.clone()
    }

    /// Moves the clock past a timestamp seen from another node.
    pub fn observe(&mut self, remote: &Hlc) {
        if (remote.millis, remote.counter) > (self.last.millis, self.last.counter) {
            self.last = Hlc::new(remote.millis, remote.counter, self.node.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders() {
        let a: Hlc = "0001732300000000-000003-3f2a9c".parse().unwrap();
        assert_eq!(a.to_string(), "0001732300000000-000003-3f2a9c");
        let b: Hlc = "1732300000000-000003-3f2a9d".parse().unwrap();
        assert!(b > a, "ties on time break by node id");
        let c: Hlc = "1732300000001-000000-000000".parse().unwrap();
        assert!(c > b);
        assert_eq!(b.to_string(), "0001732300000000-000003-3f2a9d");
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "x",
            "1-2",
            "1-2-",
            "a-1-n",
            "1-1234567-n",
            "1-1-n n",
            "12345678901234567-1-n",
        ] {
            assert!(s.parse::<Hlc>().is_err(), "{s}");
        }
    }

    #[test]
    fn clock_is_monotonic() {
        let mut c = Clock::new("dev1");
        let t1 = c.tick(100);
        let t2 = c.tick(100);
        let t3 = c.tick(50);
        assert!(t1 < t2 && t2 < t3);
        c.observe(&Hlc::new(500, 7, "other"));
        let t4 = c.tick(10);
        assert_eq!((t4.millis, t4.counter), (500, 8));
    }
}
