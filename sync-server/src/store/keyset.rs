//! Opaque keyset cursors for lists: the sort value and id of the last item, base64url JSON.
//!
//! Keyset pagination stays correct while rows are inserted or deleted between pages, unlike
//! offsets. The cursor is tied to the sort it was made for; a cursor from another sort is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Default page size of lists (API.md).
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size of lists (API.md).
pub const MAX_LIMIT: i64 = 100;

/// A sort value: numbers (times, sizes) or text (names, types).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

/// Position after the last item of a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Sort key the cursor belongs to.
    pub s: String,
    pub v: SortValue,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Parses a cursor made for `sort`; `None` for anything else.
    pub fn decode(raw: &str, sort: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let c: Cursor = serde_json::from_slice(&bytes).ok()?;
        (c.s == sort).then_some(c)
    }
}

/// Clamps a requested page size to 1..=100 (default 20); `None` when it is out of range.
pub fn page_limit(requested: Option<i64>) -> Option<i64> {
    match requested {
        None => Some(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Some(n),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_sort_binding() {
        let c = Cursor { s: "name".into(), v: SortValue::Text("a".into()), id: "x".into() };
        let raw = c.encode();
        assert_eq!(Cursor::decode(&raw, "name"), Some(c));
        assert_eq!(Cursor::decode(&raw, "updated"), None);
        assert_eq!(Cursor::decode("!!", "name"), None);
        assert_eq!(page_limit(Some(0)), None);
        assert_eq!(page_limit(Some(100)), Some(100));
    }
}
