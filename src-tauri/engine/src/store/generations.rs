//! The `generations` table: one row per generation this device requested or learnt of (D7).
//!
//! A row is the [`LocalGeneration`] the caller sees plus what the engine needs besides: the id
//! of the outbox operation that submits it (its `Idempotency-Key`), the request as submitted
//! (a retry sends it again), the output assets as the server described them, and the server
//! ids of earlier attempts (their late updates are ignored). Every write sets `rev` to the
//! largest so far + 1, so [`changed_since`] answers exactly the rows written after a revision.

use crate::error::{EngineError, Result};
use crate::generation::{GenerationFailure, GenerationState, LocalGeneration};
use iskra_protocol::{Asset, GenerationKind, NewGeneration};
use rusqlite::{Connection, Row};
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// One stored generation.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRow {
    pub generation: LocalGeneration,
    /// The outbox operation that submits the request (`None` when learnt from the server).
    pub op_id: Option<Uuid>,
    /// The request as submitted.
    pub request: NewGeneration,
    /// The outputs as the server listed them.
    pub output_assets: Vec<Asset>,
    /// Server ids of earlier attempts (before a retry).
    pub former_server_ids: Vec<Uuid>,
    pub rev: i64,
}

const COLUMNS: &str = "id, op_id, server_id, project_id, element_id, kind, prompt, model, params,
    request, status, queue_position, error, outputs, former_server_ids, created_at, rev";

fn conv<E: std::error::Error + Send + Sync + 'static>(i: usize, e: E) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
}

fn uuid_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<Uuid>> {
    r.get::<_, Option<String>>(i)?
        .map(|s| Uuid::parse_str(&s).map_err(|e| conv(i, e)))
        .transpose()
}

fn json_at<T: DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    serde_json::from_str(&r.get::<_, String>(i)?).map_err(|e| conv(i, e))
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<GenerationRow> {
    let kind: String = r.get(5)?;
    let status: String = r.get(10)?;
    let error: Option<String> = r.get(12)?;
    let output_assets: Vec<Asset> = json_at(r, 13)?;
    let generation = LocalGeneration {
        id: uuid_at(r, 0)?.ok_or_else(|| conv(0, EngineError::Corrupt("no id".into())))?,
        server_id: uuid_at(r, 2)?,
        project_id: uuid_at(r, 3)?
            .ok_or_else(|| conv(3, EngineError::Corrupt("no project".into())))?,
        element_id: uuid_at(r, 4)?
            .ok_or_else(|| conv(4, EngineError::Corrupt("no element".into())))?,
        kind: kind
            .parse::<GenerationKind>()
            .map_err(|e| conv(5, EngineError::Corrupt(e)))?,
        prompt: r.get(6)?,
        model: r.get(7)?,
        params: json_at(r, 8)?,
        status: GenerationState::parse(&status)
            .ok_or_else(|| conv(10, EngineError::Corrupt(format!("status {status:?}"))))?,
        queue_position: r.get(11)?,
        error: error
            .map(|e| serde_json::from_str::<GenerationFailure>(&e))
            .transpose()
            .map_err(|e| conv(12, e))?,
        outputs: output_assets.iter().map(|a| a.id.clone()).collect(),
        created_at: r.get(15)?,
    };
    Ok(GenerationRow {
        generation,
        op_id: uuid_at(r, 1)?,
        request: json_at(r, 9)?,
        output_assets,
        former_server_ids: json_at(r, 14)?,
        rev: r.get(16)?,
    })
}

fn query(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<GenerationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM generations {filter}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params, from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn one(conn: &Connection, filter: &str, key: Uuid) -> Result<Option<GenerationRow>> {
    Ok(query(conn, filter, [key.to_string()])?.into_iter().next())
}

/// Writes a row (insert or replace) with the next revision.
pub fn save(conn: &Connection, row: &GenerationRow) -> Result<()> {
    let g = &row.generation;
    let id = |u: Option<Uuid>| u.map(|u| u.to_string());
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO generations ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,
           ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
           (SELECT coalesce(max(rev), 0) + 1 FROM generations))"
    ))?
    .execute(rusqlite::params![
        g.id.to_string(),
        id(row.op_id),
        id(g.server_id),
        g.project_id.to_string(),
        g.element_id.to_string(),
        g.kind.as_str(),
        g.prompt,
        g.model,
        serde_json::to_string(&g.params)?,
        serde_json::to_string(&row.request)?,
        g.status.as_str(),
        g.queue_position,
        g.error.as_ref().map(serde_json::to_string).transpose()?,
        serde_json::to_string(&row.output_assets)?,
        serde_json::to_string(&row.former_server_ids)?,
        g.created_at,
    ])?;
    Ok(())
}

/// A row by local id.
pub fn get(conn: &Connection, id: Uuid) -> Result<Option<GenerationRow>> {
    one(conn, "WHERE id = ?1", id)
}

/// A row by local id, else by server id (what the CLI accepts).
pub fn find(conn: &Connection, id: Uuid) -> Result<Option<GenerationRow>> {
    match get(conn, id)? {
        Some(row) => Ok(Some(row)),
        None => by_server_id(conn, id),
    }
}

/// The row of a server id.
pub fn by_server_id(conn: &Connection, server_id: Uuid) -> Result<Option<GenerationRow>> {
    one(conn, "WHERE server_id = ?1", server_id)
}

/// The row an outbox operation submits.
pub fn by_op(conn: &Connection, op_id: Uuid) -> Result<Option<GenerationRow>> {
    one(conn, "WHERE op_id = ?1", op_id)
}

/// The row still waiting in the outbox for this placeholder (an update from the server may
/// arrive before the answer to the submit that names its id).
pub fn waiting_for_element(conn: &Connection, element: Uuid) -> Result<Option<GenerationRow>> {
    one(
        conn,
        "WHERE element_id = ?1 AND server_id IS NULL AND status = 'waiting'",
        element,
    )
}

/// The generations of one project or all, newest first.
pub fn list(conn: &Connection, project: Option<Uuid>) -> Result<Vec<GenerationRow>> {
    let order = "ORDER BY created_at DESC, rev DESC";
    match project {
        Some(p) => query(
            conn,
            &format!("WHERE project_id = ?1 {order}"),
            [p.to_string()],
        ),
        None => query(conn, order, []),
    }
}

/// Rows written after revision `rev`, oldest write first.
pub fn changed_since(conn: &Connection, rev: i64) -> Result<Vec<GenerationRow>> {
    query(conn, "WHERE rev > ?1 ORDER BY rev", [rev])
}

/// True when `server_id` was an earlier attempt of a retried generation.
pub fn is_former(conn: &Connection, server_id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM generations, json_each(generations.former_server_ids)
               WHERE json_each.value = ?1)",
        )?
        .query_row([server_id.to_string()], |r| r.get(0))?)
}

/// The latest revision (0 when the table is empty).
pub fn max_rev(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(rev), 0) FROM generations")?
        .query_row([], |r| r.get(0))?)
}

/// Rows the server has and that may still change (what a pull refreshes).
pub fn active_on_server(conn: &Connection) -> Result<Vec<GenerationRow>> {
    query(
        conn,
        "WHERE server_id IS NOT NULL AND status IN ('queued', 'running') ORDER BY rev",
        [],
    )
}

/// Deletes one row.
pub fn delete(conn: &Connection, id: Uuid) -> Result<()> {
    conn.prepare_cached("DELETE FROM generations WHERE id = ?1")?
        .execute([id.to_string()])?;
    Ok(())
}

/// Forgets the generations of a deleted project.
pub fn delete_project(conn: &Connection, project: Uuid) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM generations WHERE project_id = ?1")?
        .execute([project.to_string()])?)
}

/// Sets a row's status (and failure) by its submit operation, when it is in state `from`;
/// true when a row changed.
pub fn set_status_by_op(
    conn: &Connection,
    op_id: Uuid,
    from: GenerationState,
    to: GenerationState,
    error: Option<&GenerationFailure>,
) -> Result<bool> {
    let Some(mut row) = by_op(conn, op_id)? else {
        return Ok(false);
    };
    if row.generation.status != from {
        return Ok(false);
    }
    row.generation.status = to;
    row.generation.error = error.cloned();
    save(conn, &row)?;
    Ok(true)
}

/// Output assets of completed generations (for where an asset came from), by asset id.
pub fn completed_outputs(conn: &Connection) -> Result<Vec<GenerationRow>> {
    query(
        conn,
        "WHERE status = 'completed' AND outputs != '[]' ORDER BY rev",
        [],
    )
}

/// Reads a row that must exist.
pub fn require(conn: &Connection, id: Uuid) -> Result<GenerationRow> {
    find(conn, id)?.ok_or(EngineError::GenerationNotFound(id))
}
