//! The local asset cache index: one row per content hash (SHA-256), pointing at the file in
//! the data dir's `assets/` folder, with the probed type and dimensions (D5). `uploaded` is set
//! once the server confirmed it has the bytes.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// One cached asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetRecord {
    /// Lower-case hex SHA-256 of the bytes (the asset id on the server too).
    pub sha256: String,
    /// File path relative to the data dir.
    pub path: String,
    pub mime: String,
    pub size_bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    pub created_at: String,
    pub uploaded: bool,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<AssetRecord> {
    Ok(AssetRecord {
        sha256: r.get(0)?,
        path: r.get(1)?,
        mime: r.get(2)?,
        size_bytes: r.get::<_, i64>(3)?.max(0) as u64,
        width: r.get(4)?,
        height: r.get(5)?,
        duration_ms: r.get::<_, Option<i64>>(6)?.map(|d| d.max(0) as u64),
        created_at: r.get(7)?,
        uploaded: r.get(8)?,
    })
}

const COLUMNS: &str =
    "sha256, path, mime, size_bytes, width, height, duration_ms, created_at, uploaded";

/// Adds an asset; false when this hash is already cached (nothing changes then).
pub fn insert(conn: &Connection, a: &AssetRecord) -> Result<bool> {
    let n = conn.execute(
        &format!("INSERT OR IGNORE INTO assets ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)"),
        rusqlite::params![
            a.sha256,
            a.path,
            a.mime,
            a.size_bytes as i64,
            a.width,
            a.height,
            a.duration_ms.map(|d| d as i64),
            a.created_at,
            a.uploaded
        ],
    )?;
    Ok(n == 1)
}

/// One asset by hash.
pub fn get(conn: &Connection, sha256: &str) -> Result<Option<AssetRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM assets WHERE sha256 = ?1");
    Ok(conn.query_row(&sql, [sha256], from_row).optional()?)
}

/// Every cached asset, newest first.
pub fn list(conn: &Connection) -> Result<Vec<AssetRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM assets ORDER BY created_at DESC, sha256");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Removes an asset row; false when it was not cached.
pub fn delete(conn: &Connection, sha256: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM assets WHERE sha256 = ?1")?
        .execute([sha256])?
        == 1)
}

/// Records that the server has the bytes.
pub fn set_uploaded(conn: &Connection, sha256: &str) -> Result<()> {
    conn.prepare_cached("UPDATE assets SET uploaded = 1 WHERE sha256 = ?1")?
        .execute([sha256])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_is_deduplicated_by_hash() {
        let conn = crate::store::open_in_memory().unwrap();
        let a = AssetRecord {
            sha256: "ab".repeat(32),
            path: "assets/x.png".into(),
            mime: "image/png".into(),
            size_bytes: 10,
            width: Some(2),
            height: Some(3),
            duration_ms: None,
            created_at: "t".into(),
            uploaded: false,
        };
        assert!(insert(&conn, &a).unwrap());
        assert!(!insert(&conn, &a).unwrap());
        set_uploaded(&conn, &a.sha256).unwrap();
        assert!(get(&conn, &a.sha256).unwrap().unwrap().uploaded);
        assert_eq!(list(&conn).unwrap().len(), 1);
        assert!(delete(&conn, &a.sha256).unwrap());
        assert!(get(&conn, &a.sha256).unwrap().is_none());
    }
}
