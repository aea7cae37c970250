//! The engine side of syncing: outbox transitions and what the sync client learns from the
//! server (which projects it has, pull cursors). Each transition is one small transaction.

use super::{Engine, EngineEvent};
use crate::error::Result;
use crate::generation::GenerationFailure;
use crate::generation::GenerationState::{Failed, Waiting};
use crate::store::outbox::{self, OpError, OutboxOp};
use crate::store::{generations, now_rfc3339, projects};
use iskra_protocol::Project;
use rusqlite::TransactionBehavior;
use uuid::Uuid;

impl Engine {
    /// Operations waiting to be sent, oldest first (due or backing off).
    pub fn pending_ops(&self) -> Result<Vec<OutboxOp>> {
        outbox::pending(&self.db().conn)
    }

    /// Runs `f` on each op id in one transaction.
    fn ops_tx(
        &self,
        ops: &[Uuid],
        f: impl Fn(&rusqlite::Connection, Uuid) -> Result<()>,
    ) -> Result<()> {
        let mut db = self.db();
        let tx = db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for op in ops {
            f(&tx, *op)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks operations as carried by a request in progress.
    pub fn ops_in_flight(&self, ops: &[Uuid]) -> Result<()> {
        self.ops_tx(ops, |c, op| outbox::set_in_flight(c, &[op]))
    }

    /// The server applied these operations: they leave the outbox.
    pub fn ops_done(&self, ops: &[Uuid]) -> Result<()> {
        self.ops_tx(ops, outbox::complete)
    }

    /// A transient failure: try again not before `next_ms`, counting an attempt.
    pub fn ops_retry_later(&self, ops: &[Uuid], next_ms: u64, error: &OpError) -> Result<()> {
        self.ops_tx(ops, |c, op| outbox::schedule_retry(c, op, next_ms, error))
    }

    /// The server answered again: what backed off only because it was unreachable is due now.
    /// Returns how many operations were made due.
    pub fn ops_due_on_reconnect(&self) -> Result<usize> {
        outbox::due_on_reconnect(&self.db().conn)
    }

    /// Not sent on purpose (e.g. uploads paused): try again not before `next_ms`.
    pub fn ops_postpone(&self, ops: &[Uuid], next_ms: u64, error: &OpError) -> Result<()> {
        self.ops_tx(ops, |c, op| outbox::postpone(c, op, next_ms, error))
    }

    /// A permanent refusal, kept with the server's error for the user to see; a refused
    /// generation request fails with the server's reason (and its limit or storage numbers).
    pub fn ops_reject(&self, ops: &[Uuid], error: &OpError) -> Result<()> {
        let failure = GenerationFailure::from_outbox_error(error);
        self.ops_tx(ops, |c, op| {
            outbox::reject(c, op, error)?;
            generations::set_status_by_op(c, op, Waiting, Failed, Some(&failure))?;
            Ok(())
        })
    }

    /// Records that the server has the project.
    pub fn mark_project_remote(&self, id: Uuid) -> Result<()> {
        let mut db = self.db();
        projects::set_remote(&db.conn, id)?;
        db.record(EngineEvent::Projects);
        Ok(())
    }

    /// Ids of the projects the server is known to have.
    pub fn remote_project_ids(&self) -> Result<Vec<Uuid>> {
        projects::remote_ids(&self.db().conn)
    }

    /// The pull cursor of a project.
    pub fn sync_cursor(&self, id: Uuid) -> Result<Option<String>> {
        projects::cursor(&self.db().conn, id)
    }

    /// Takes in a project the server listed; true when it was new on this device.
    pub fn adopt_remote_project(&self, project: &Project) -> Result<bool> {
        let mut db = self.db();
        let new = projects::adopt(&db.conn, project)?;
        db.record(EngineEvent::Projects);
        drop(db);
        if new {
            tracing::info!(id = %project.id, name = %project.name, "project from another device");
        }
        Ok(new)
    }

    /// Records a finished sync (time) or its failure (message) for the status line.
    pub fn record_sync_result(&self, error: Option<&str>) -> Result<()> {
        use crate::store::settings;
        let db = self.db();
        match error {
            None => {
                settings::set(&db.conn, settings::LAST_SYNC_AT, &now_rfc3339())?;
                settings::remove(&db.conn, settings::LAST_SYNC_ERROR)
            }
            Some(e) => settings::set(&db.conn, settings::LAST_SYNC_ERROR, e),
        }
    }
}
