//! Fractional z-order keys: the one definition the app (through the shell) and the CLI use.
//!
//! Keys are the npm `fractional-indexing` (3.x) keys the UI generates, ported line by line: an
//! integer part whose head letter gives its length (`a0 … az`, `b00 …`; `Z…` below `a0`), then
//! an optional base-62 fraction without trailing `0`s; keys compare byte-wise. No Rust crate
//! implements this exact scheme (the `fractional_index` crate writes different bytes), so the
//! port is proven equal to the npm package by a test that runs both on 10,000 random
//! operations (`tests/zorder_npm.rs`). [`reorder`] is the app's "bring to front / send back /
//! forward / backward" rule; [`keys_on_top`] is where new elements go.

use iskra_protocol::Element;
use serde::Deserialize;
use std::collections::HashSet;
use uuid::Uuid;

/// The digits of a key, in byte order.
const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// The smallest integer part, which has no key below it.
const SMALLEST: &str = "A00000000000000000000000000";

/// Why no key could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZError {
    #[error("invalid z-order key {0:?}")]
    InvalidKey(String),
    #[error("no z-order key fits between {0:?} and {1:?}")]
    NoRoom(String, String),
}

type ZResult<T> = std::result::Result<T, ZError>;

fn digit(b: u8) -> Option<usize> {
    DIGITS.iter().position(|&d| d == b)
}

fn integer_len(head: u8) -> Option<usize> {
    match head {
        b'a'..=b'z' => Some(usize::from(head - b'a') + 2),
        b'A'..=b'Z' => Some(usize::from(b'Z' - head) + 2),
        _ => None,
    }
}

/// The integer part of a valid key (validity checked by [`validate`]).
fn integer_part(key: &str) -> ZResult<&str> {
    let invalid = || ZError::InvalidKey(key.to_owned());
    let len = integer_len(*key.as_bytes().first().ok_or_else(invalid)?).ok_or_else(invalid)?;
    key.get(..len).ok_or_else(invalid)
}

/// Whether `key` is a key `fractional-indexing` accepts (and made only of base-62 digits).
pub fn is_valid(key: &str) -> bool {
    validate(key).is_ok()
}

fn validate(key: &str) -> ZResult<()> {
    let invalid = || ZError::InvalidKey(key.to_owned());
    if key == SMALLEST || !key.bytes().all(|b| digit(b).is_some()) {
        return Err(invalid());
    }
    let int = integer_part(key)?;
    if key[int.len()..].ends_with('0') {
        return Err(invalid());
    }
    Ok(())
}

/// A fraction strictly between `a` and `b` (`b` open when `None`); neither ends in `0`.
fn midpoint(a: &str, b: Option<&str>) -> ZResult<String> {
    let room = || ZError::NoRoom(a.to_owned(), b.unwrap_or("").to_owned());
    if b.is_some_and(|b| a >= b) || a.ends_with('0') || b.is_some_and(|b| b.ends_with('0')) {
        return Err(room());
    }
    if let Some(b) = b {
        // The longest common prefix, `a` padded with 0s.
        let (ab, bb) = (a.as_bytes(), b.as_bytes());
        let mut n = 0;
        while n < bb.len() && ab.get(n).copied().unwrap_or(b'0') == bb[n] {
            n += 1;
        }
        if n > 0 {
            let rest_a = a.get(n..).unwrap_or("");
            return Ok(format!("{}{}", &b[..n], midpoint(rest_a, Some(&b[n..]))?));
        }
    }
    let da = a.bytes().next().map_or(Some(0), digit).ok_or_else(room)?;
    let db = match b {
        Some(b) => b.bytes().next().and_then(digit).ok_or_else(room)?,
        None => DIGITS.len(),
    };
    if db - da > 1 {
        // Math.round(0.5 * (da + db)): halves round up.
        return Ok(char::from(DIGITS[(da + db).div_ceil(2)]).to_string());
    }
    match b {
        Some(b) if b.len() > 1 => Ok(b[..1].to_owned()),
        _ => Ok(format!(
            "{}{}",
            char::from(DIGITS[da]),
            midpoint(a.get(1..).unwrap_or(""), None)?
        )),
    }
}

/// The next integer part, `None` above the largest.
fn increment(x: &str) -> Option<String> {
    let bytes = x.as_bytes();
    let head = bytes[0];
    let mut trailing = String::new();
    for i in (1..bytes.len()).rev() {
        let d = digit(bytes[i])? + 1;
        if d == DIGITS.len() {
            trailing.insert(0, '0');
        } else {
            return Some(format!("{}{}{trailing}", &x[..i], char::from(DIGITS[d])));
        }
    }
    match head {
        b'Z' => Some("a0".to_owned()),
        b'z' => None,
        _ => {
            let h = char::from(head + 1);
            Some(if h > 'a' {
                format!("{h}{trailing}0")
            } else {
                format!("{h}{}", &trailing[1.min(trailing.len())..])
            })
        }
    }
}

/// The previous integer part, `None` below the smallest.
fn decrement(x: &str) -> Option<String> {
    let bytes = x.as_bytes();
    let head = bytes[0];
    let mut trailing = String::new();
    for i in (1..bytes.len()).rev() {
        let d = digit(bytes[i])?;
        if d == 0 {
            trailing.insert(0, 'z');
        } else {
            return Some(format!(
                "{}{}{trailing}",
                &x[..i],
                char::from(DIGITS[d - 1])
            ));
        }
    }
    match head {
        b'a' => Some("Zz".to_owned()),
        b'A' => None,
        _ => {
            let h = char::from(head - 1);
            Some(if h < 'Z' {
                format!("{h}{trailing}z")
            } else {
                format!("{h}{}", &trailing[1.min(trailing.len())..])
            })
        }
    }
}

/// A key strictly between `a` and `b` (`generateKeyBetween`), either end open when `None`.
/// Swapped bounds are accepted, as the npm package does.
pub fn key_between(a: Option<&str>, b: Option<&str>) -> ZResult<String> {
    if let Some(k) = a {
        validate(k)?;
    }
    if let Some(k) = b {
        validate(k)?;
    }
    let (a, b) = match (a, b) {
        (Some(x), Some(y)) if x > y => (Some(y), Some(x)),
        other => other,
    };
    match (a, b) {
        (None, None) => Ok("a0".to_owned()),
        (None, Some(b)) => {
            let ib = integer_part(b)?;
            if ib == SMALLEST {
                return Ok(format!("{ib}{}", midpoint("", Some(&b[ib.len()..]))?));
            }
            if ib < b {
                return Ok(ib.to_owned());
            }
            decrement(ib).ok_or_else(|| ZError::NoRoom(String::new(), b.to_owned()))
        }
        (Some(a), None) => {
            let ia = integer_part(a)?;
            match increment(ia) {
                Some(i) => Ok(i),
                None => Ok(format!("{ia}{}", midpoint(&a[ia.len()..], None)?)),
            }
        }
        (Some(a), Some(b)) => {
            let (ia, ib) = (integer_part(a)?, integer_part(b)?);
            if ia == ib {
                return Ok(format!(
                    "{ia}{}",
                    midpoint(&a[ia.len()..], Some(&b[ib.len()..]))?
                ));
            }
            let i = increment(ia).ok_or_else(|| ZError::NoRoom(a.to_owned(), b.to_owned()))?;
            if i.as_str() < b {
                return Ok(i);
            }
            Ok(format!("{ia}{}", midpoint(&a[ia.len()..], None)?))
        }
    }
}

/// `n` ascending keys strictly between `a` and `b` (`generateNKeysBetween`).
pub fn n_keys_between(a: Option<&str>, b: Option<&str>, n: usize) -> ZResult<Vec<String>> {
    match n {
        0 => return Ok(Vec::new()),
        1 => return Ok(vec![key_between(a, b)?]),
        _ => {}
    }
    match (a, b) {
        (_, None) => {
            let mut c = key_between(a, None)?;
            let mut out = vec![c.clone()];
            for _ in 1..n {
                c = key_between(Some(&c), None)?;
                out.push(c.clone());
            }
            Ok(out)
        }
        (None, Some(_)) => {
            let mut c = key_between(None, b)?;
            let mut out = vec![c.clone()];
            for _ in 1..n {
                c = key_between(None, Some(&c))?;
                out.push(c.clone());
            }
            out.reverse();
            Ok(out)
        }
        (Some(_), Some(_)) => {
            let mid = n / 2;
            let c = key_between(a, b)?;
            let mut out = n_keys_between(a, Some(&c), mid)?;
            out.push(c.clone());
            out.extend(n_keys_between(Some(&c), b, n - mid - 1)?);
            Ok(out)
        }
    }
}

/// A valid key strictly above `top` even when `top` is not one (keys written by older
/// versions or other clients: any non-empty alphanumeric string the server accepts). Keys
/// below `a0` give `a0`; otherwise the integer part (padded with `0`s when too short) counts up.
fn above_any(top: &str) -> String {
    if is_valid(top) {
        if let Ok(k) = key_between(Some(top), None) {
            return k;
        }
    }
    if top < "a0" || !top.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return "a0".to_owned();
    }
    // top ≥ "a0" and alphanumeric: the head is a lowercase letter.
    let len = integer_len(top.as_bytes()[0]).unwrap_or(2);
    let int = format!("{:0<len$}", &top[..top.len().min(len)]);
    match increment(&int) {
        Some(i) if i.as_str() > top => i,
        // The largest integer part, or a padded one not above `top`: extend `top` itself.
        _ => format!("{top}V"),
    }
}

/// `n` keys above `top` (the highest key on a canvas, `None` when empty): where new elements
/// go. Never fails: an invalid `top` is stepped over first.
pub fn keys_on_top(top: Option<&str>, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    let mut prev = top.map(str::to_owned);
    for _ in 0..n {
        let next = z_after(prev.as_deref());
        out.push(next.clone());
        prev = Some(next);
    }
    out
}

/// The key just above `top`: what one new element on top gets.
pub fn z_after(top: Option<&str>) -> String {
    top.map_or_else(|| "a0".to_owned(), above_any)
}

/// Where [`reorder`] moves a group in the stacking order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZOrderMove {
    Front,
    Back,
    Forward,
    Backward,
}

impl std::str::FromStr for ZOrderMove {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "front" => Ok(Self::Front),
            "back" => Ok(Self::Back),
            "forward" => Ok(Self::Forward),
            "backward" => Ok(Self::Backward),
            _ => Err(format!("{s:?} is not front, back, forward or backward")),
        }
    }
}

/// New z keys for `moved` (ids among `elements`) under `how`, as `(id, z)` pairs: the group
/// keeps its inner order and goes to the top, the bottom, above the first other element over
/// it, or below the first other element under it. Empty when there is nowhere to go.
pub fn reorder(
    elements: &[Element],
    moved: &HashSet<Uuid>,
    how: ZOrderMove,
) -> ZResult<Vec<(Uuid, String)>> {
    let mut all: Vec<&Element> = elements.iter().collect();
    all.sort_by(|a, b| a.z.cmp(&b.z));
    let group: Vec<Uuid> = all
        .iter()
        .filter(|e| moved.contains(&e.id))
        .map(|e| e.id)
        .collect();
    let rest: Vec<&str> = all
        .iter()
        .filter(|e| !moved.contains(&e.id))
        .map(|e| e.z.as_str())
        .collect();
    let Some(first) = all.iter().position(|e| moved.contains(&e.id)) else {
        return Ok(Vec::new());
    };
    let last = all
        .iter()
        .rposition(|e| moved.contains(&e.id))
        .unwrap_or(first);
    // Bounds (lo, hi) of the gap the group goes into, among the elements that stay.
    let (lo, hi) = match how {
        ZOrderMove::Front => (rest.last().copied(), None),
        ZOrderMove::Back => (None, rest.first().copied()),
        ZOrderMove::Forward => {
            let Some(i) = all[last + 1..].iter().position(|e| !moved.contains(&e.id)) else {
                return Ok(Vec::new());
            };
            let pivot = all[last + 1 + i].z.as_str();
            let next = rest.iter().copied().find(|z| *z > pivot);
            (Some(pivot), next)
        }
        ZOrderMove::Backward => {
            let Some(pivot) = all[..first].iter().rev().find(|e| !moved.contains(&e.id)) else {
                return Ok(Vec::new());
            };
            let pivot = pivot.z.as_str();
            let prev = rest.iter().rev().copied().find(|z| *z < pivot);
            (prev, Some(pivot))
        }
    };
    let zs = match (lo, hi) {
        (lo, None) => keys_on_top(lo, group.len()),
        (lo, hi) => n_keys_between(lo, hi, group.len())?,
    };
    Ok(group.into_iter().zip(zs).collect())
}

#[cfg(test)]
#[path = "zorder_tests.rs"]
mod tests;
