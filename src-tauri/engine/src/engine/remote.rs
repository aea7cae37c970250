//! Applying changes pulled from the server: the same property-level LWW merge
//! ([`ObjectState`]) the server uses, so every replica converges whatever the order. Remote
//! changes are journalled (origin `remote`) but never queued in the outbox or undo history.

use super::edits::persist_clock;
use super::Engine;
use crate::error::{EngineError, Result};
use crate::store::canvas::{self, Origin};
use crate::store::{now_rfc3339, projects};
use iskra_protocol::merge::ObjectState;
use iskra_protocol::{Change, ChangeAction, Hlc, Target};
use rusqlite::TransactionBehavior;
use uuid::Uuid;

/// Outcome of applying a batch of remote changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteApplied {
    /// Changes that altered local state.
    pub changed: usize,
    /// Changes already known or overridden by later local writes.
    pub unchanged: usize,
    /// Changes that failed validation (logged and skipped).
    pub invalid: usize,
}

fn merge(state: &mut ObjectState, action: &ChangeAction<'_>, clock: &Hlc) -> bool {
    match action {
        ChangeAction::Set(set) => !state.apply_set(set, clock).is_empty(),
        ChangeAction::Delete => state.apply_delete(clock),
    }
}

impl Engine {
    /// Merges changes from other devices into a project's canvas, in one transaction.
    pub fn apply_remote_changes(&self, project: Uuid, changes: &[Change]) -> Result<RemoteApplied> {
        self.apply_pulled(project, changes, None)
    }

    /// Merges pulled changes and stores the pull cursor in the same transaction, so a crash
    /// never records a cursor past changes that were not applied.
    pub fn apply_pulled(
        &self,
        project: Uuid,
        changes: &[Change],
        cursor: Option<&str>,
    ) -> Result<RemoteApplied> {
        let now = now_rfc3339();
        let mut out = RemoteApplied::default();
        let mut db = self.db();
        let db = &mut *db;
        let tx = db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !projects::exists(&tx, project)? {
            return Err(EngineError::ProjectNotFound(project));
        }
        let mut latest: Option<&Hlc> = None;
        for change in changes {
            let (target, action) = match change.validate() {
                Ok(v) => v,
                Err(reason) => {
                    tracing::warn!(op = %change.op_id, %reason, "skipping invalid remote change");
                    out.invalid += 1;
                    continue;
                }
            };
            db.clock.observe(&change.clock);
            latest = latest.max(Some(&change.clock));
            let changed = match target {
                Target::Viewport => {
                    let mut state = canvas::load_viewport(&tx, project)?;
                    let changed = merge(&mut state, &action, &change.clock);
                    canvas::save_viewport(&tx, project, &state)?;
                    changed
                }
                Target::Element(id) => {
                    let mut state = canvas::load_element(&tx, project, id)?;
                    let changed = merge(&mut state, &action, &change.clock);
                    canvas::save_element(&tx, project, id, &state)?;
                    changed
                }
            };
            canvas::journal_append(&tx, project, change, Origin::Remote, &now)?;
            if changed {
                out.changed += 1;
            } else {
                out.unchanged += 1;
            }
        }
        if let Some(latest) = latest {
            persist_clock(&tx, latest)?;
        }
        if out.changed > 0 {
            projects::touch(&tx, project, &now)?;
        }
        if let Some(cursor) = cursor {
            projects::set_cursor(&tx, project, cursor, &now)?;
        }
        tx.commit()?;
        if out.changed > 0 {
            super::edits::record_canvas(db, project, changes);
            self.inner.snapshots.mark_dirty();
        }
        Ok(out)
    }
}
