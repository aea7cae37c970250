//! The outbox: a durable queue of every change the server must learn (D4), each with a unique
//! op id that the server uses for idempotency, so a retried operation is applied once.
//!
//! Rows are written in the same transaction as the local change they describe. A row is
//! `pending` until sent, `in_flight` while a request carries it (reset to `pending` on start-up:
//! a crash mid-request just sends it again), deleted once the server accepted it, and
//! `rejected` — with the server's error body — when refused permanently. Rejected rows stay
//! until the user retries or discards them; nothing is dropped silently.
//!
//! Projects kept off the account (D6, [`ProjectScope`](super::projects::ProjectScope) other
//! than `account`) queue nothing, and the upload of an asset shown only on their canvases
//! waits: it is neither pending nor counted until a synced project shows the asset too.

use crate::error::{EngineError, Result};
use iskra_protocol::{Change, NewGeneration};
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// What an outbox operation asks of the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum OpPayload {
    /// `POST /v1/projects` with the client-chosen id.
    #[serde(rename = "project.create")]
    ProjectCreate { name: String },
    /// `PATCH /v1/projects/{id}`.
    #[serde(rename = "project.rename")]
    ProjectRename { name: String },
    /// `DELETE /v1/projects/{id}`.
    #[serde(rename = "project.delete")]
    ProjectDelete,
    /// One canvas change, pushed with `POST /v1/projects/{id}/sync`.
    #[serde(rename = "canvas.change")]
    Change { change: Change },
    /// `HEAD` then streaming `PUT /v1/assets/{sha256}`.
    #[serde(rename = "asset.upload")]
    AssetUpload { sha256: String },
    /// `DELETE /v1/assets/{sha256}`.
    #[serde(rename = "asset.delete")]
    AssetDelete { sha256: String },
    /// `POST /v1/generations`, the op id as `Idempotency-Key` (queued after the placeholder's
    /// canvas changes, in the project's lane).
    #[serde(rename = "generation.submit")]
    GenerationSubmit { request: NewGeneration },
    /// `DELETE /v1/generations/{serverId}`.
    #[serde(rename = "generation.cancel", rename_all = "camelCase")]
    GenerationCancel { server_id: Uuid },
}

impl OpPayload {
    /// The wire name of the kind (`project.create`, `canvas.change`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ProjectCreate { .. } => "project.create",
            Self::ProjectRename { .. } => "project.rename",
            Self::ProjectDelete => "project.delete",
            Self::Change { .. } => "canvas.change",
            Self::AssetUpload { .. } => "asset.upload",
            Self::AssetDelete { .. } => "asset.delete",
            Self::GenerationSubmit { .. } => "generation.submit",
            Self::GenerationCancel { .. } => "generation.cancel",
        }
    }

    /// Generation requests: they wait their turn after the project's earlier operations, but
    /// one that must wait (backoff) does not hold back the later ones.
    pub fn is_generation(&self) -> bool {
        matches!(
            self,
            Self::GenerationSubmit { .. } | Self::GenerationCancel { .. }
        )
    }
}

/// Where an operation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpState {
    Pending,
    InFlight,
    Rejected,
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxOp {
    pub seq: i64,
    pub op_id: Uuid,
    pub project_id: Option<Uuid>,
    pub payload: OpPayload,
    pub state: OpState,
    pub attempts: u32,
    /// Unix millis before which the op is not sent again.
    pub next_attempt_ms: u64,
    /// The server's error body (or a client-side description) of the last failure.
    pub last_error: Option<Value>,
    pub created_at: String,
}

const COLUMNS: &str =
    "seq, op_id, project_id, payload, state, attempts, next_attempt_ms, last_error, created_at";

fn conv<E: std::error::Error + Send + Sync + 'static>(i: usize, e: E) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<OutboxOp> {
    let uuid = |i: usize, s: String| Uuid::parse_str(&s).map_err(|e| conv(i, e));
    let state: String = r.get(4)?;
    let last_error: Option<String> = r.get(7)?;
    Ok(OutboxOp {
        seq: r.get(0)?,
        op_id: uuid(1, r.get(1)?)?,
        project_id: r
            .get::<_, Option<String>>(2)?
            .map(|s| uuid(2, s))
            .transpose()?,
        payload: serde_json::from_str(&r.get::<_, String>(3)?).map_err(|e| conv(3, e))?,
        state: serde_json::from_value(Value::String(state)).map_err(|e| conv(4, e))?,
        attempts: r.get(5)?,
        next_attempt_ms: r.get::<_, i64>(6)?.max(0) as u64,
        last_error: last_error
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| conv(7, e))?,
        created_at: r.get(8)?,
    })
}

fn query(conn: &Connection, filter: &str, params: impl rusqlite::Params) -> Result<Vec<OutboxOp>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox {filter} ORDER BY seq");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params, from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// SQL condition on an outbox row: an asset upload held back because only canvases kept off
/// the account show the asset.
const HELD_UPLOAD: &str = "(outbox.kind = 'asset.upload'
    AND EXISTS (SELECT 1 FROM elements e JOIN projects p ON p.id = e.project_id
        WHERE e.visible = 1 AND p.scope != 'account'
          AND json_extract(e.props, '$.assetId') = json_extract(outbox.payload, '$.sha256'))
    AND NOT EXISTS (SELECT 1 FROM elements e JOIN projects p ON p.id = e.project_id
        WHERE e.visible = 1 AND p.scope = 'account'
          AND json_extract(e.props, '$.assetId') = json_extract(outbox.payload, '$.sha256')))";

/// Adds an operation (in the caller's transaction) — unless it belongs to a project kept off
/// the account, which the server must not learn about.
pub fn enqueue(
    conn: &Connection,
    op_id: Uuid,
    project: Option<Uuid>,
    payload: &OpPayload,
    now: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (op_id, project_id, kind, payload, created_at)
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS
           (SELECT 1 FROM projects WHERE id = ?2 AND scope != 'account')",
    )?
    .execute((
        op_id.to_string(),
        project.map(|p| p.to_string()),
        payload.kind(),
        serde_json::to_string(payload)?,
        now,
    ))?;
    Ok(())
}

/// Every operation, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<OutboxOp>> {
    query(conn, "", [])
}

/// Operations waiting to be sent (due or not, held uploads left out), oldest first.
pub fn pending(conn: &Connection) -> Result<Vec<OutboxOp>> {
    query(
        conn,
        &format!("WHERE state = 'pending' AND NOT {HELD_UPLOAD}"),
        [],
    )
}

/// One operation.
pub fn get(conn: &Connection, op_id: Uuid) -> Result<Option<OutboxOp>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE op_id = ?1");
    Ok(conn
        .query_row(&sql, [op_id.to_string()], from_row)
        .optional()?)
}

/// Counts of (pending or in flight, rejected) operations; held uploads are not counted.
pub fn counts(conn: &Connection) -> Result<(u64, u64)> {
    let sql = format!(
        "SELECT coalesce(sum(state != 'rejected' AND NOT {HELD_UPLOAD}), 0),
                coalesce(sum(state = 'rejected'), 0)
         FROM outbox"
    );
    Ok(conn.prepare_cached(&sql)?.query_row([], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
    })?)
}

/// Marks operations as carried by a request in progress.
pub fn set_in_flight(conn: &Connection, op_ids: &[Uuid]) -> Result<()> {
    let mut stmt = conn.prepare("UPDATE outbox SET state = 'in_flight' WHERE op_id = ?1")?;
    for id in op_ids {
        stmt.execute([id.to_string()])?;
    }
    Ok(())
}

/// After a crash, operations that were in flight go back to pending; returns how many.
pub fn reset_in_flight(conn: &Connection) -> Result<usize> {
    Ok(conn
        .prepare_cached("UPDATE outbox SET state = 'pending' WHERE state = 'in_flight'")?
        .execute([])?)
}

/// The server accepted the operation: it leaves the outbox.
pub fn complete(conn: &Connection, op_id: Uuid) -> Result<()> {
    conn.prepare_cached("DELETE FROM outbox WHERE op_id = ?1")?
        .execute([op_id.to_string()])?;
    Ok(())
}

/// A transient failure: back to pending, not before `next_attempt_ms`.
pub fn schedule_retry(conn: &Connection, op_id: Uuid, next_ms: u64, error: &Value) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_ms = ?2,
           last_error = ?3 WHERE op_id = ?1",
    )?
    .execute((op_id.to_string(), next_ms as i64, error.to_string()))?;
    Ok(())
}

/// Leaves an operation pending without counting an attempt (e.g. uploads paused by quota).
pub fn postpone(conn: &Connection, op_id: Uuid, next_ms: u64, error: &Value) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'pending', next_attempt_ms = ?2, last_error = ?3
         WHERE op_id = ?1",
    )?
    .execute((op_id.to_string(), next_ms as i64, error.to_string()))?;
    Ok(())
}

/// A permanent refusal: kept, with the server's error body, until retried or discarded.
pub fn reject(conn: &Connection, op_id: Uuid, error: &Value) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'rejected', attempts = attempts + 1, last_error = ?2
         WHERE op_id = ?1",
    )?
    .execute((op_id.to_string(), error.to_string()))?;
    Ok(())
}

/// Sends an operation again at the next flush (rejected or waiting on backoff).
pub fn retry(conn: &Connection, op_id: Uuid) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'pending', next_attempt_ms = 0
         WHERE op_id = ?1 AND state != 'in_flight'",
        )?
        .execute([op_id.to_string()])?;
    if n == 0 {
        return Err(EngineError::OpNotFound(op_id, " (or in flight)"));
    }
    Ok(())
}

/// Drops a rejected operation for good (the user saw it and chose to).
pub fn discard(conn: &Connection, op_id: Uuid) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM outbox WHERE op_id = ?1 AND state = 'rejected'")?
        .execute([op_id.to_string()])?;
    if n == 0 {
        return Err(EngineError::OpNotFound(op_id, " among rejected operations"));
    }
    Ok(())
}

/// Drops the queued canvas changes and generation requests of a project being deleted (they
/// can never apply).
pub fn drop_project_ops(conn: &Connection, project: Uuid) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM outbox WHERE project_id = ?1
               AND kind IN ('canvas.change', 'generation.submit', 'generation.cancel')",
        )?
        .execute([project.to_string()])?)
}

/// Takes an operation out of the outbox whatever its state but in flight (a request the user
/// withdrew); `Ok(None)` when there is no such operation.
pub fn withdraw(conn: &Connection, op_id: Uuid) -> Result<Option<OpState>> {
    let Some(op) = get(conn, op_id)? else {
        return Ok(None);
    };
    if op.state == OpState::InFlight {
        return Err(EngineError::Invalid(
            "the request is being sent to the server right now; try again in a moment".into(),
        ));
    }
    complete(conn, op_id)?;
    Ok(Some(op.state))
}

/// True when the outbox holds an upload of this asset (in any state).
pub fn has_upload(conn: &Connection, sha256: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM outbox WHERE kind = 'asset.upload'
               AND json_extract(payload, '$.sha256') = ?1 LIMIT 1",
        )?
        .query_row([sha256], |_| Ok(()))
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lifecycle_pending_retry_reject_discard() {
        let conn = crate::store::open_in_memory().unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let p = Some(Uuid::new_v4());
        enqueue(
            &conn,
            a,
            p,
            &OpPayload::ProjectCreate { name: "x".into() },
            "t",
        )
        .unwrap();
        enqueue(&conn, b, p, &OpPayload::ProjectDelete, "t").unwrap();
        assert!(
            enqueue(&conn, a, p, &OpPayload::ProjectDelete, "t").is_err(),
            "op ids unique"
        );
        assert_eq!(
            pending(&conn)
                .unwrap()
                .iter()
                .map(|o| o.op_id)
                .collect::<Vec<_>>(),
            [a, b]
        );
        set_in_flight(&conn, &[a]).unwrap();
        assert_eq!(reset_in_flight(&conn).unwrap(), 1);
        schedule_retry(&conn, a, 99, &json!({"message": "down"})).unwrap();
        let op = get(&conn, a).unwrap().unwrap();
        assert_eq!(
            (op.state, op.attempts, op.next_attempt_ms),
            (OpState::Pending, 1, 99)
        );
        assert!(
            discard(&conn, a).is_err(),
            "only rejected ops can be discarded"
        );
        reject(&conn, b, &json!({"code": "VALIDATION_FAILED"})).unwrap();
        assert_eq!(counts(&conn).unwrap(), (1, 1));
        let op = get(&conn, b).unwrap().unwrap();
        assert_eq!(op.last_error.unwrap()["code"], "VALIDATION_FAILED");
        retry(&conn, b).unwrap();
        assert_eq!(get(&conn, b).unwrap().unwrap().state, OpState::Pending);
        reject(&conn, b, &json!({})).unwrap();
        discard(&conn, b).unwrap();
        complete(&conn, a).unwrap();
        assert_eq!(counts(&conn).unwrap(), (0, 0));
    }
}
