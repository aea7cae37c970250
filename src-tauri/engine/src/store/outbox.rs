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
use iskra_protocol::{Change, ErrorCode, ErrorDetail, NewGeneration};
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

/// Why an operation's last attempt failed: kept with the row (`outbox.last_error`, this type
/// as JSON, written and read by serde) for the user to see and for the retry policy
/// (`sync::error`) to have decided on. Rows of older versions were converted by the migration
/// `20261201090000_outbox_typed_errors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum OpError {
    /// The server refused the request for good (a 4xx with its error body).
    Rejected { status: u16, error: ErrorDetail },
    /// `STORAGE_QUOTA_EXCEEDED`: uploads wait until there is room.
    Quota { error: ErrorDetail },
    /// 429: sent again after the server's delay.
    RateLimited {
        error: ErrorDetail,
        retry_after_secs: Option<u64>,
    },
    /// 401: the session was refused; the operation waits for a new sign-in.
    Unauthenticated { error: ErrorDetail },
    /// 5xx: the server failed; sent again later.
    Server {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// The server could not be reached, or the connection broke.
    Network { message: String },
    /// A 2xx whose body was not what docs/api.md says.
    Protocol { message: String },
    /// No session: the operation waits for a sign-in.
    NotSignedIn,
    /// This client failed (its local store, a cancelled task).
    Local { message: String },
    /// A task of this client panicked: a bug, not retried as a server failure.
    Panicked { message: String },
}

impl OpError {
    /// The error body to show: the server's own, or one made for a failure it did not send.
    pub fn detail(&self) -> ErrorDetail {
        match self {
            Self::Rejected { error, .. }
            | Self::Quota { error }
            | Self::RateLimited { error, .. }
            | Self::Unauthenticated { error } => error.clone(),
            Self::Server { code, message, .. } => ErrorDetail::new(*code, message),
            Self::Network { message } => ErrorDetail::new(
                ErrorCode::Internal,
                format!("the server could not be reached: {message}"),
            ),
            Self::Protocol { message } => ErrorDetail::new(
                ErrorCode::Internal,
                format!("unexpected response from the server: {message}"),
            ),
            Self::NotSignedIn => ErrorDetail::new(ErrorCode::Unauthenticated, "not signed in"),
            Self::Local { message } => ErrorDetail::new(ErrorCode::Internal, message),
            Self::Panicked { message } => ErrorDetail::new(
                ErrorCode::Internal,
                format!("this app failed while sending it: {message}"),
            ),
        }
    }
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
    /// Why the last attempt failed.
    pub last_error: Option<OpError>,
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
pub fn schedule_retry(conn: &Connection, op_id: Uuid, next_ms: u64, error: &OpError) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_ms = ?2,
           last_error = ?3 WHERE op_id = ?1",
    )?
    .execute((
        op_id.to_string(),
        next_ms as i64,
        serde_json::to_string(error)?,
    ))?;
    Ok(())
}

/// The server answered again: operations backing off only because it could not be reached
/// are due now (D4: the outbox flushes on reconnect); those waiting on a server failure or its
/// `Retry-After` keep their time. Returns how many were made due.
pub fn due_on_reconnect(conn: &Connection) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbox SET next_attempt_ms = 0 WHERE state = 'pending' AND next_attempt_ms > 0
               AND json_extract(last_error, '$.kind') = 'network'",
        )?
        .execute([])?)
}

/// Leaves an operation pending without counting an attempt (e.g. uploads paused by quota).
pub fn postpone(conn: &Connection, op_id: Uuid, next_ms: u64, error: &OpError) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'pending', next_attempt_ms = ?2, last_error = ?3
         WHERE op_id = ?1",
    )?
    .execute((
        op_id.to_string(),
        next_ms as i64,
        serde_json::to_string(error)?,
    ))?;
    Ok(())
}

/// A permanent refusal: kept, with the server's error body, until retried or discarded.
pub fn reject(conn: &Connection, op_id: Uuid, error: &OpError) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'rejected', attempts = attempts + 1, last_error = ?2
         WHERE op_id = ?1",
    )?
    .execute((op_id.to_string(), serde_json::to_string(error)?))?;
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
        let down = OpError::Network {
            message: "down".into(),
        };
        schedule_retry(&conn, a, 99, &down).unwrap();
        let op = get(&conn, a).unwrap().unwrap();
        assert_eq!(
            (op.state, op.attempts, op.next_attempt_ms),
            (OpState::Pending, 1, 99)
        );
        assert!(
            discard(&conn, a).is_err(),
            "only rejected ops can be discarded"
        );
        let refused = OpError::Rejected {
            status: 422,
            error: ErrorDetail::new(ErrorCode::ValidationFailed, "bad"),
        };
        reject(&conn, b, &refused).unwrap();
        assert_eq!(counts(&conn).unwrap(), (1, 1));
        assert_eq!(get(&conn, a).unwrap().unwrap().last_error, Some(down));
        let op = get(&conn, b).unwrap().unwrap();
        assert_eq!(op.last_error, Some(refused.clone()));
        retry(&conn, b).unwrap();
        assert_eq!(get(&conn, b).unwrap().unwrap().state, OpState::Pending);
        reject(&conn, b, &refused).unwrap();
        discard(&conn, b).unwrap();
        complete(&conn, a).unwrap();
        assert_eq!(counts(&conn).unwrap(), (0, 0));
    }

    #[test]
    fn errors_of_earlier_versions_are_converted_once_by_the_migration() {
        let conn = crate::store::open_in_memory().unwrap();
        let detail = |code: &str| format!(r#"{{"code":"{code}","message":"m","limit":3}}"#);
        let legacy = [
            (
                format!(r#"{{"status":422,"error":{}}}"#, detail("VALIDATION_FAILED")),
                OpError::Rejected {
                    status: 422,
                    error: ErrorDetail::new(ErrorCode::ValidationFailed, "m").with("limit", 3),
                },
            ),
            (
                format!(r#"{{"status":403,"error":{}}}"#, detail("STORAGE_QUOTA_EXCEEDED")),
                OpError::Quota {
                    error: ErrorDetail::new(ErrorCode::StorageQuotaExceeded, "m").with("limit", 3),
                },
            ),
            (
                format!(
                    r#"{{"status":429,"error":{},"retryAfterSecs":120}}"#,
                    detail("RATE_LIMITED")
                ),
                OpError::RateLimited {
                    error: ErrorDetail::new(ErrorCode::RateLimited, "m").with("limit", 3),
                    retry_after_secs: Some(120),
                },
            ),
            (
                format!(r#"{{"status":401,"error":{}}}"#, detail("UNAUTHENTICATED")),
                OpError::Unauthenticated {
                    error: ErrorDetail::new(ErrorCode::Unauthenticated, "m").with("limit", 3),
                },
            ),
            (
                r#"{"status":503,"message":"down"}"#.to_owned(),
                OpError::Server {
                    status: 503,
                    code: ErrorCode::Internal,
                    message: "down".into(),
                },
            ),
            (
                r#"{"message":"network error: connection refused"}"#.to_owned(),
                OpError::Network {
                    message: "connection refused".into(),
                },
            ),
            (
                r#"{"message":"unexpected response from the server: store task failed: task 7 panicked"}"#
                    .to_owned(),
                OpError::Panicked {
                    message: "task 7 panicked".into(),
                },
            ),
            (
                r#"{"message":"unexpected response from the server: EOF"}"#.to_owned(),
                OpError::Protocol {
                    message: "EOF".into(),
                },
            ),
            (
                r#"{"message":"not signed in"}"#.to_owned(),
                OpError::NotSignedIn,
            ),
            (
                "not json".to_owned(),
                OpError::Local {
                    message: "not json".into(),
                },
            ),
        ];
        let mut ids = Vec::new();
        for (old, _) in &legacy {
            let id = Uuid::new_v4();
            enqueue(&conn, id, None, &OpPayload::ProjectDelete, "t").unwrap();
            conn.execute(
                "UPDATE outbox SET last_error = ?2 WHERE op_id = ?1",
                (id.to_string(), old),
            )
            .unwrap();
            ids.push(id);
        }
        let (_, sql) = crate::store::MIGRATIONS
            .iter()
            .find(|(name, _)| *name == "20261201090000_outbox_typed_errors")
            .expect("the migration is embedded");
        conn.execute_batch(sql).unwrap();
        for (id, (old, typed)) in ids.iter().zip(&legacy) {
            let op = get(&conn, *id).unwrap().unwrap();
            assert_eq!(op.last_error.as_ref(), Some(typed), "from {old}");
        }
        // Typed rows are left as they are when it runs again.
        conn.execute_batch(sql).unwrap();
        let op = get(&conn, ids[0]).unwrap().unwrap();
        assert_eq!(op.last_error.as_ref(), Some(&legacy[0].1));
    }
}
