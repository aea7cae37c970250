//! Fractional z-index keys for reordering and duplicating (an adapter: the engine places new
//! elements on top but has no "key between two keys" yet). Keys are strings of the digits
//! `0-9A-Za-z`, compared byte-wise — the format the engine, the server and the UI share — read
//! as base-62 fractions, so a key strictly between any two distinct keys almost always exists.
//! Above the top, keys count up the way the engine's do (`iskra_engine::z_after`), so bringing
//! things to the front again and again does not lengthen them.

use iskra_protocol::Element;
use serde::Deserialize;
use std::collections::HashSet;
use uuid::Uuid;

/// The digits of a key, in byte order.
const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn digit(b: u8) -> Option<usize> {
    DIGITS.iter().position(|&d| d == b)
}

/// A key strictly between `lo` and `hi` (byte-wise), either bound open when `None`.
/// `None` when no such key exists (`hi` is `"0"`, `"00"`, … with no lower bound) or a bound
/// is not a valid key.
pub fn key_between(lo: Option<&str>, hi: Option<&str>) -> Option<String> {
    let valid = |k: &str| !k.is_empty() && k.bytes().all(|b| digit(b).is_some());
    if lo.is_some_and(|k| !valid(k)) || hi.is_some_and(|k| !valid(k)) {
        return None;
    }
    if let (Some(a), Some(b)) = (lo, hi) {
        if a >= b {
            return None;
        }
    }
    if let (Some(lo), None) = (lo, hi) {
        return Some(iskra_engine::z_after(Some(lo)));
    }
    let mut out = Vec::new();
    mid(lo.unwrap_or("").as_bytes(), hi.map(str::as_bytes), &mut out)?;
    String::from_utf8(out).ok()
}

/// Appends to `out` a string `c` with `a < c < b` (`b` open when `None`); `a < b` holds.
fn mid(a: &[u8], b: Option<&[u8]>, out: &mut Vec<u8>) -> Option<()> {
    // `a` exhausted counts as a digit below '0'.
    let da = a
        .first()
        .map(|&x| digit(x).map(|d| d as i64))
        .unwrap_or(Some(-1))?;
    let db = match b {
        None => DIGITS.len() as i64,
        Some(b) => digit(*b.first()?)? as i64,
    };
    if db - da > 1 {
        out.push(DIGITS[((da + db) / 2) as usize]);
        return Some(());
    }
    if db == da {
        // Same first digit: recurse on the rest (b's rest is non-empty because a < b).
        out.push(DIGITS[da as usize]);
        return mid(&a[1..], b.map(|b| &b[1..]), out);
    }
    // Adjacent digits: keep a's digit and go above a's rest, unbounded.
    if da < 0 {
        // a is exhausted and b starts with '0': stay on '0' and go below b's rest.
        out.push(DIGITS[0]);
        return mid(&[], b.map(|b| &b[1..]), out);
    }
    out.push(DIGITS[da as usize]);
    mid(&a[1..], None, out)
}

/// `n` ascending keys strictly between `lo` and `hi`.
pub fn keys_between(lo: Option<&str>, hi: Option<&str>, n: usize) -> Option<Vec<String>> {
    let mut keys: Vec<String> = Vec::with_capacity(n);
    for _ in 0..n {
        let prev = keys.last().map(String::as_str).or(lo);
        keys.push(key_between(prev, hi)?);
    }
    Some(keys)
}

/// Where `reorder` moves a group in the stacking order.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZOrderMove {
    Front,
    Back,
    Forward,
    Backward,
}

/// New z keys for `moved` (ids in the project) under `how`, as `(id, z)` pairs; `None` when
/// no key fits between the neighbours.
pub fn reorder(
    elements: &[Element],
    moved: &HashSet<Uuid>,
    how: ZOrderMove,
) -> Option<Vec<(Uuid, String)>> {
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
        return Some(Vec::new());
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
            // Above the first staying element over the group's top.
            let Some(i) = all[last + 1..].iter().position(|e| !moved.contains(&e.id)) else {
                return Some(Vec::new());
            };
            let pivot = all[last + 1 + i].z.as_str();
            let next = rest.iter().copied().find(|z| *z > pivot);
            (Some(pivot), next)
        }
        ZOrderMove::Backward => {
            let Some(pivot) = all[..first].iter().rev().find(|e| !moved.contains(&e.id)) else {
                return Some(Vec::new());
            };
            let pivot = pivot.z.as_str();
            let prev = rest.iter().rev().copied().find(|z| *z < pivot);
            (prev, Some(pivot))
        }
    };
    let zs = keys_between(lo, hi, group.len())?;
    Some(group.into_iter().zip(zs).collect())
}

#[cfg(test)]
mod tests {
    use iskra_protocol::ElementKind;

    fn el(z: &str) -> Element {
        Element {
            id: Uuid::new_v4(),
            kind: ElementKind::Image,
            asset_id: None,
            x: 0.0,
            y: 0.0,
            width: 1.0,
            height: 1.0,
            rotation: 0.0,
            z: z.into(),
            locked: false,
            playback: None,
            generation_id: None,
        }
    }

    fn order_after(elements: &[Element], moved: &[Uuid], how: ZOrderMove) -> Vec<Uuid> {
        let set: HashSet<Uuid> = moved.iter().copied().collect();
        let mut next: Vec<Element> = elements.to_vec();
        for (id, z) in reorder(elements, &set, how).unwrap() {
            next.iter_mut().find(|e| e.id == id).unwrap().z = z;
        }
        next.sort_by(|a, b| a.z.cmp(&b.z));
        next.into_iter().map(|e| e.id).collect()
    }

    #[test]
    fn reorder_moves_the_group_and_keeps_its_order() {
        let els: Vec<Element> = ["a0", "a1", "a2", "a3"].into_iter().map(el).collect();
        let [a, b, c, d] = [els[0].id, els[1].id, els[2].id, els[3].id];
        assert_eq!(order_after(&els, &[a, b], ZOrderMove::Front), [c, d, a, b]);
        assert_eq!(order_after(&els, &[c, d], ZOrderMove::Back), [c, d, a, b]);
        assert_eq!(order_after(&els, &[b], ZOrderMove::Forward), [a, c, b, d]);
        assert_eq!(order_after(&els, &[c], ZOrderMove::Backward), [a, c, b, d]);
        assert_eq!(order_after(&els, &[d], ZOrderMove::Forward), [a, b, c, d]);
        assert_eq!(order_after(&els, &[a], ZOrderMove::Backward), [a, b, c, d]);
    }

    use super::*;

    #[test]
    fn keys_fall_strictly_between() {
        let cases = [
            (None, None),
            (Some("a0"), None),
            (None, Some("a0")),
            (Some("a0"), Some("a1")),
            (Some("a0"), Some("a0V")),
            (Some("az"), Some("b")),
            (Some("zz"), None),
            (None, Some("01")),
            (Some("a0"), Some("a00001")),
        ];
        for (lo, hi) in cases {
            let k = key_between(lo, hi).unwrap_or_else(|| panic!("{lo:?}..{hi:?}"));
            assert!(lo.is_none_or(|l| l < k.as_str()), "{lo:?} < {k}");
            assert!(hi.is_none_or(|h| k.as_str() < h), "{k} < {hi:?}");
        }
    }

    #[test]
    fn impossible_or_invalid_bounds_give_none() {
        assert_eq!(key_between(None, Some("0")), None);
        // Nothing sorts strictly between a key and the same key plus a "0".
        assert_eq!(key_between(Some("a"), Some("a0")), None);
        assert_eq!(key_between(Some("b"), Some("a")), None);
        assert_eq!(key_between(Some("a-"), None), None);
    }

    #[test]
    fn many_keys_stay_ordered_and_short() {
        let keys = keys_between(Some("a0"), Some("a1"), 200).unwrap();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert!(keys.iter().all(|k| k.as_str() > "a0" && k.as_str() < "a1"));
        assert!(keys.iter().all(|k| k.len() <= iskra_protocol::MAX_Z_LEN));
        // Brought to the front ten thousand times: keys rise and stay short.
        let front = keys_between(Some("a0"), None, 10_000).unwrap();
        assert!(front.windows(2).all(|w| w[0] < w[1]));
        assert!(front.iter().all(|k| k.len() <= 5));
    }
}
