//! The `snapshots` table: the latest compacted canvas of each project and the journal position
//! it includes. Journal rows at or before that position are pruned once the snapshot is written.

use crate::error::Result;
use iskra_protocol::Canvas;
use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

/// A stored snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Last journal row the snapshot includes.
    pub journal_seq: i64,
    pub canvas: Canvas,
    pub created_at: String,
}

/// Projects whose journal has rows newer than their snapshot (or that have none yet), with the
/// newest journal position of each.
pub fn due(conn: &Connection) -> Result<Vec<(Uuid, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT j.project_id, max(j.seq) FROM journal j
         LEFT JOIN snapshots s ON s.project_id = j.project_id
         GROUP BY j.project_id
         HAVING max(j.seq) > coalesce(max(s.journal_seq), 0)",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, seq) = row?;
        if let Ok(id) = Uuid::parse_str(&id) {
            out.push((id, seq));
        }
    }
    Ok(out)
}

/// The newest journal position of a project (0 when its journal is empty).
pub fn journal_head(conn: &Connection, project: Uuid) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM journal WHERE project_id = ?1")?
        .query_row([project.to_string()], |r| r.get(0))?)
}

/// Stores a snapshot and prunes the journal rows it covers (call inside one transaction).
/// Does nothing when the project was deleted meanwhile.
pub fn write(conn: &Connection, project: Uuid, seq: i64, canvas: &Canvas, now: &str) -> Result<()> {
    let id = project.to_string();
    conn.prepare_cached(
        "INSERT INTO snapshots (project_id, journal_seq, canvas, created_at)
         SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM projects WHERE id = ?1)
         ON CONFLICT(project_id) DO UPDATE SET journal_seq = excluded.journal_seq,
           canvas = excluded.canvas, created_at = excluded.created_at",
    )?
    .execute((&id, seq, serde_json::to_string(canvas)?, now))?;
    conn.prepare_cached("DELETE FROM journal WHERE project_id = ?1 AND seq <= ?2")?
        .execute((&id, seq))?;
    Ok(())
}

/// The latest snapshot of a project.
pub fn get(conn: &Connection, project: Uuid) -> Result<Option<Snapshot>> {
    let row = conn
        .query_row(
            "SELECT journal_seq, canvas, created_at FROM snapshots WHERE project_id = ?1",
            [project.to_string()],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    match row {
        Some((journal_seq, canvas, created_at)) => Ok(Some(Snapshot {
            journal_seq,
            canvas: serde_json::from_str(&canvas)?,
            created_at,
        })),
        None => Ok(None),
    }
}
