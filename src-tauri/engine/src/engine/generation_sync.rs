//! What [`Engine`] learns about generations from the server (D7): the answer to a submit, the
//! updates of `generation.updated` events and pulls, refusals of the request, and where an
//! asset came from.
//!
//! An update never takes a generation back in its life (`waiting → queued → running → ended`):
//! a late event is ignored. An update may arrive before the answer to the submit that names
//! its server id — it is matched to the waiting request by its placeholder. Generations
//! another device requested are recorded too (their local id is the server id), so every
//! device shows the progress of a placeholder it syncs.

use super::{Db, Engine};
use crate::error::Result;
use crate::generation::{GenerationFailure, GenerationState, LocalGeneration};
use crate::store::generations::{self, GenerationRow};
use crate::store::outbox;
use iskra_protocol::{AssetGeneration, Generation, NewGeneration};
use rusqlite::{Connection, TransactionBehavior};
use std::collections::HashMap;
use uuid::Uuid;

/// A row for a generation first heard of from the server; `None` for one that places nothing
/// on a canvas (made through the API without a placeholder).
fn adopted(g: &Generation) -> Option<GenerationRow> {
    Some(GenerationRow {
        generation: LocalGeneration {
            id: g.id,
            server_id: Some(g.id),
            project_id: g.project_id?,
            element_id: g.element_id?,
            kind: g.kind,
            prompt: g.prompt.clone(),
            model: g.model.clone(),
            params: g.params.clone(),
            status: GenerationState::Waiting,
            queue_position: None,
            error: None,
            outputs: Vec::new(),
            created_at: g.created_at.clone(),
        },
        op_id: None,
        request: NewGeneration {
            kind: g.kind,
            model: Some(g.model.clone()),
            prompt: g.prompt.clone(),
            image_asset_id: g.image_asset_id.clone(),
            params: Some(g.params.clone()),
            project_id: g.project_id,
            element_id: g.element_id,
        },
        output_assets: Vec::new(),
        former_server_ids: Vec::new(),
        rev: 0,
    })
}

/// Takes the server's view into `row` unless it would go back; true when it did.
fn merge(row: &mut GenerationRow, g: &Generation) -> bool {
    let (old, new) = (row.generation.status, GenerationState::from(g.status));
    if new.rank() < old.rank() || (old.is_terminal() && new != old) {
        return false;
    }
    let before = row.clone();
    let local = &mut row.generation;
    local.server_id = Some(g.id);
    local.status = new;
    local.queue_position = g.queue_position.filter(|_| !new.is_terminal());
    local.model = g.model.clone();
    local.params = g.params.clone();
    local.error = g.error.as_ref().map(GenerationFailure::from_job);
    local.outputs = g.outputs.iter().map(|a| a.id.clone()).collect();
    row.output_assets = g.outputs.clone();
    *row != before
}

/// Records the server's view of `g` (in the caller's transaction); true when a row changed.
fn apply_in(conn: &Connection, g: &Generation) -> Result<bool> {
    let found = match generations::by_server_id(conn, g.id)? {
        Some(row) => Some(row),
        // An earlier attempt of a retried generation: its news is old.
        None if generations::is_former(conn, g.id)? => return Ok(false),
        None => match g.element_id {
            Some(el) => generations::waiting_for_element(conn, el)?,
            None => None,
        },
    };
    let Some(mut row) = found.or_else(|| adopted(g)) else {
        return Ok(false);
    };
    let changed = merge(&mut row, g);
    if changed {
        generations::save(conn, &row)?;
    }
    Ok(changed)
}

impl Engine {
    /// The server accepted the submit `op` (202): its operation leaves the outbox and the
    /// generation takes the server's id and state, in one transaction. The placeholder is not
    /// written: the server deletes it when the outputs land, and a later write from this device
    /// (a newer clock) would bring it back; the generation names its placeholder instead.
    pub fn generation_accepted(&self, op: Uuid, g: &Generation) -> Result<()> {
        let mut db = self.db();
        let Db { conn, .. } = &mut *db;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        outbox::complete(&tx, op)?;
        match generations::by_op(&tx, op)? {
            Some(mut row) => {
                if let Some(early) = generations::by_server_id(&tx, g.id)? {
                    if early.generation.id != row.generation.id {
                        // Recorded from an event before this answer: the request's row stays.
                        generations::delete(&tx, early.generation.id)?;
                    }
                }
                if merge(&mut row, g) {
                    generations::save(&tx, &row)?;
                }
            }
            None => {
                apply_in(&tx, g)?;
            }
        }
        tx.commit()?;
        drop(db);
        self.changed();
        Ok(())
    }

    /// Records an update of a generation (a `generation.updated` event, a pull, the answer to
    /// a cancel); true when anything changed here.
    pub fn apply_server_generation(&self, g: &Generation) -> Result<bool> {
        let mut db = self.db();
        let tx = db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = apply_in(&tx, g)?;
        tx.commit()?;
        Ok(changed)
    }

    /// Generations on the server that may still change (what a pull asks about).
    pub fn active_generations(&self) -> Result<Vec<LocalGeneration>> {
        let rows = generations::active_on_server(&self.db().conn)?;
        Ok(rows.into_iter().map(|r| r.generation).collect())
    }

    /// Where each asset a generation made came from, by asset id.
    pub fn asset_provenance(&self) -> Result<HashMap<String, AssetGeneration>> {
        let mut out = HashMap::new();
        for row in generations::completed_outputs(&self.db().conn)? {
            let g = &row.generation;
            for asset in &row.output_assets {
                let made = asset.generation.clone().unwrap_or_else(|| AssetGeneration {
                    generation_id: g.server_id.unwrap_or(g.id),
                    prompt: g.prompt.clone(),
                    model: g.model.clone(),
                    seed: g.params.seed,
                });
                out.insert(asset.id.clone(), made);
            }
        }
        Ok(out)
    }
}
