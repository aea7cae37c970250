//! Opaque keyset cursors for lists: the sort value and id of the last item, base64url JSON.
//!
//! Keyset pagination stays correct while rows are inserted or deleted between pages, unlike
//! offsets. The cursor is tied to the sort it was made for; a cursor from another sort is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Default page size of lists (docs/api.md).
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size of lists (docs/api.md).
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

/// The SQL of one page: `select` with `WHERE user_id = $1`, each filter (a fragment with one
/// `?` for its bound value), the keyset condition when continuing after a cursor, the order and
/// `LIMIT` (the page size + 1, to know whether a next page exists).
pub fn page_sql(
    select: &str,
    filters: &[&str],
    col: &str,
    id_col: &str,
    descending: bool,
    after: bool,
) -> String {
    let (dir, cmp) = if descending {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    let mut sql = format!("{select} WHERE user_id = $1");
    let mut n = 1;
    for f in filters {
        n += 1;
        sql += &format!(" AND {}", f.replacen('?', &format!("${n}"), 1));
    }
    if after {
        sql += &format!(" AND ({col}, {id_col}) {cmp} (${}, ${})", n + 1, n + 2);
        n += 2;
    }
    sql + &format!(" ORDER BY {col} {dir}, {id_col} {dir} LIMIT ${}", n + 1)
}

/// Binds a cursor's sort value and id (the keyset condition of [`page_sql`]).
pub fn bind_after<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    c: &Cursor,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    match &c.v {
        SortValue::Int(v) => q.bind(*v),
        SortValue::Text(v) => q.bind(v.clone()),
    }
    .bind(c.id.clone())
}

/// Cuts the extra row fetched by [`page_sql`] and makes the next page's cursor from the last
/// row kept.
pub fn split_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<Cursor>) {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        let next = rows.last().map(cursor);
        (rows, next)
    } else {
        (rows, None)
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
        let c = Cursor {
            s: "name".into(),
            v: SortValue::Text("a".into()),
            id: "x".into(),
        };
        let raw = c.encode();
        assert_eq!(Cursor::decode(&raw, "name"), Some(c));
        assert_eq!(Cursor::decode(&raw, "updated"), None);
        assert_eq!(Cursor::decode("!!", "name"), None);
        assert_eq!(page_limit(Some(0)), None);
        assert_eq!(page_limit(Some(100)), Some(100));
        assert_eq!(
            page_sql("SELECT x FROM t", &["k = ?"], "c", "id", true, true),
            "SELECT x FROM t WHERE user_id = $1 AND k = $2 AND (c, id) < ($3, $4) ORDER BY c DESC, id DESC LIMIT $5"
        );
    }
}
