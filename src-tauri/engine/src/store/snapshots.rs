//! The `snapshots` and `snapshot_elements` tables: the latest compacted canvas of each project
//! — its viewport and journal position in `snapshots`, each visible element as materialised in
//! `snapshot_elements` — and the journal position it includes. Journal rows at or before that
//! position are pruned once the snapshot is written.
//!
//! A pass is incremental: every element write journals its change, so the elements named by
//! the journal rows after the snapshot's position are exactly the ones that may differ from
//! it. A pass reads those ([`delta`]) and rewrites only them ([`write`]): its cost follows the
//! changes since the last pass, not the size of the canvas.

use super::canvas;
use crate::error::Result;
use iskra_protocol::{Canvas, Element, Viewport, VIEWPORT_ID};
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

/// What a pass rewrites of one project's snapshot: read in one WAL read transaction, then
/// written in a short write transaction by [`write`].
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    /// Last journal row the snapshot will include.
    pub journal_seq: i64,
    /// The elements the compacted journal rows name: as they are now (Element JSON), or
    /// `None` when no longer visible.
    pub elements: Vec<(String, Option<String>)>,
    /// The viewport as it is now.
    pub viewport: Viewport,
}

/// The journal position the project's snapshot includes (0 when it has none).
pub fn snapshot_seq(conn: &Connection, project: Uuid) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT journal_seq FROM snapshots WHERE project_id = ?1")?
        .query_row([project.to_string()], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The snapshot delta of a project up to journal row `seq`: only the elements its journal
/// rows after the current snapshot name (call inside one read transaction).
pub fn delta(conn: &Connection, project: Uuid, seq: i64) -> Result<Delta> {
    let since = snapshot_seq(conn, project)?;
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT json_extract(change, '$.elementId') FROM journal
         WHERE project_id = ?1 AND seq > ?2 AND seq <= ?3",
    )?;
    let ids = stmt
        .query_map((project.to_string(), since, seq), |r| {
            r.get::<_, Option<String>>(0)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut elements = Vec::with_capacity(ids.len());
    for id in ids.into_iter().flatten() {
        if id == VIEWPORT_ID {
            continue;
        }
        let element = match Uuid::parse_str(&id) {
            Ok(uuid) => canvas::visible_element(conn, project, uuid)?
                .map(|e| serde_json::to_string(&e))
                .transpose()?,
            Err(_) => None,
        };
        elements.push((id, element));
    }
    Ok(Delta {
        journal_seq: seq,
        elements,
        viewport: canvas::viewport(conn, project)?,
    })
}

/// Writes some of a delta's elements into the project's snapshot rows (call inside one
/// transaction). Does nothing when the project was deleted meanwhile.
///
/// A pass writes its rows in several short transactions, then the position ([`write_head`]):
/// until then the rows already written may be newer than the snapshot's position, which is
/// harmless — every such element is named by a journal row after that position, so the next
/// pass rewrites it.
pub fn write_elements(
    conn: &Connection,
    project: Uuid,
    elements: &[(String, Option<String>)],
) -> Result<()> {
    let id = project.to_string();
    if !super::projects::exists(conn, project)? {
        return Ok(());
    }
    for (element, json) in elements {
        match json {
            Some(json) => conn
                .prepare_cached(
                    "INSERT INTO snapshot_elements (project_id, element_id, element)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT(project_id, element_id) DO UPDATE SET element = excluded.element",
                )?
                .execute((&id, element, json))?,
            None => conn
                .prepare_cached(
                    "DELETE FROM snapshot_elements WHERE project_id = ?1 AND element_id = ?2",
                )?
                .execute((&id, element))?,
        };
    }
    Ok(())
}

/// Moves the project's snapshot to the delta's journal position, with its viewport, once its
/// elements are written (call inside one transaction). Does nothing when the project was
/// deleted meanwhile.
pub fn write_head(conn: &Connection, project: Uuid, delta: &Delta, now: &str) -> Result<()> {
    if !super::projects::exists(conn, project)? {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO snapshots (project_id, journal_seq, viewport, created_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(project_id) DO UPDATE SET journal_seq = excluded.journal_seq,
           viewport = excluded.viewport, created_at = excluded.created_at",
    )?
    .execute((
        project.to_string(),
        delta.journal_seq,
        serde_json::to_string(&delta.viewport)?,
        now,
    ))?;
    Ok(())
}

/// Deletes at most `limit` of the project's journal rows at or before `seq` (a snapshot's
/// position: rows it covers); returns how many. Rows left over are only garbage: nothing
/// reads the journal before the snapshot's position.
pub fn prune_journal(conn: &Connection, project: Uuid, seq: i64, limit: usize) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM journal WHERE seq IN (SELECT seq FROM journal
             WHERE project_id = ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3)",
        )?
        .execute((project.to_string(), seq, limit as i64))?)
}

/// The latest snapshot of a project, its elements back to front (by z, then id).
pub fn get(conn: &Connection, project: Uuid) -> Result<Option<Snapshot>> {
    let row = conn
        .query_row(
            "SELECT journal_seq, viewport, created_at FROM snapshots WHERE project_id = ?1",
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
    let Some((journal_seq, viewport, created_at)) = row else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare_cached("SELECT element FROM snapshot_elements WHERE project_id = ?1")?;
    let mut elements = stmt
        .query_map([project.to_string()], |r| r.get::<_, String>(0))?
        .map(|json| Ok(serde_json::from_str::<Element>(&json?)?))
        .collect::<Result<Vec<_>>>()?;
    elements.sort_unstable_by(|a, b| a.z.cmp(&b.z).then(a.id.cmp(&b.id)));
    Ok(Some(Snapshot {
        journal_seq,
        canvas: Canvas {
            elements,
            viewport: serde_json::from_str(&viewport)?,
        },
        created_at,
    }))
}
