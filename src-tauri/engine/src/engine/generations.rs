//! Generation requests of [`Engine`] (D7): generate, list, cancel, retry, and the model
//! catalogue kept for offline use.
//!
//! [`Engine::generate`] validates the request with the protocol's own rules (the server's
//! words), places a `generation` placeholder on top of the canvas and queues the submit in ONE
//! transaction — the placeholder's canvas change first, then `generation.submit`, whose op id
//! is the local id and the `Idempotency-Key`. The project's lane flushes in order, so the
//! server learns the placeholder before the request that names it; offline, the request waits
//! in the outbox and is sent once. The placeholder and its removal on cancel are not undo
//! steps: undoing must not pull the ground from under a running generation.

use super::edits::{commit_in, on_top, record_canvas, Edit, EditReceipt, Mode};
use super::generation_request::{
    beside, cached_models, queue_upload, require_account_project, resolve_model, source_element,
    source_image,
};
use super::{Db, Engine, NewElement};
use crate::error::{EngineError, Result};
use crate::generation::{
    placeholder_size, GenerateRequest, GenerationState, LocalGeneration, Point,
};
use crate::store::generations::{self, GenerationRow};
use crate::store::outbox::{self, OpPayload};
use crate::store::projects;
use crate::store::{canvas, now_rfc3339, settings};
use iskra_protocol::{Clock, Element, ElementKind, ModelInfo, NewGeneration};
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Map, Value};
use std::sync::atomic::Ordering;
use uuid::Uuid;

/// What [`Engine::generate`] committed: the generation, its placeholder and the canvas changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub generation: LocalGeneration,
    pub placeholder: Element,
    pub receipt: EditReceipt,
}

/// Queues `request` under a fresh op id (its `Idempotency-Key`); returns the op id.
fn queue_submit(conn: &Connection, request: &NewGeneration, now: &str) -> Result<Uuid> {
    let op_id = Uuid::new_v4();
    let payload = OpPayload::GenerationSubmit {
        request: request.clone(),
    };
    outbox::enqueue(conn, op_id, request.project_id, &payload, now)?;
    Ok(op_id)
}

/// The waiting record of a new request (queued as `op_id`) for placeholder `element`.
fn waiting(
    op_id: Uuid,
    project: Uuid,
    element: Uuid,
    request: NewGeneration,
    model: String,
    now: &str,
) -> GenerationRow {
    GenerationRow {
        generation: LocalGeneration {
            id: op_id,
            server_id: None,
            project_id: project,
            element_id: element,
            kind: request.kind,
            prompt: request.prompt.clone(),
            model,
            params: request.params.clone().unwrap_or_default(),
            status: GenerationState::Waiting,
            queue_position: None,
            error: None,
            outputs: Vec::new(),
            created_at: now.to_owned(),
        },
        op_id: Some(op_id),
        request,
        output_assets: Vec::new(),
        former_server_ids: Vec::new(),
        rev: 0,
    }
}

/// Places a `generation` placeholder of `w`×`h` centred on `centre` on top of the canvas (in
/// the caller's transaction; not an undo step); returns its id and the canvas changes.
pub(super) fn place_placeholder(
    conn: &Connection,
    clock: &mut Clock,
    project: Uuid,
    centre: Point,
    (w, h): (f64, f64),
) -> Result<(Uuid, Vec<iskra_protocol::Change>)> {
    let element_id = Uuid::new_v4();
    let mut new = NewElement::image(None, centre.x - w / 2.0, centre.y - h / 2.0, w, h);
    new.kind = ElementKind::Generation;
    let edits = on_top(conn, project, &[(element_id, &new)])?;
    let (changes, _) = commit_in(conn, clock, project, &edits, Mode::Do)?;
    Ok((element_id, changes))
}

/// Removes the placeholder `element` (not an undo step); nothing when it or its project is
/// already gone.
pub(super) fn remove_placeholder(
    conn: &Connection,
    clock: &mut Clock,
    project: Uuid,
    element: Uuid,
) -> Result<Vec<iskra_protocol::Change>> {
    if projects::exists(conn, project)? {
        let edit = Edit::Delete {
            element_id: element,
        };
        return Ok(commit_in(conn, clock, project, &[edit], Mode::Replay)?.0);
    }
    Ok(Vec::new())
}

impl Engine {
    fn require_signed_in(&self) -> Result<()> {
        if self.inner.signed_in.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(EngineError::SignInRequired)
        }
    }

    /// Requests a generation: validates it, places its placeholder on top of the canvas
    /// (centred on `at`, sized from the requested image size or the source image) and queues
    /// the submit, all in one transaction. Image-to-image and image-to-video start from the
    /// image of `source_element_id`, whose upload is queued first when it is not on the server.
    pub fn generate(&self, project: Uuid, req: &GenerateRequest) -> Result<Generated> {
        self.require_signed_in()?;
        let now = now_rfc3339();
        let mut db = self.db();
        let Db { conn, clock, .. } = &mut *db;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        require_account_project(&tx, project)?;
        let source = match req.source_element_id {
            Some(id) => Some(source_element(&tx, project, id)?),
            None => None,
        };
        let mut request = NewGeneration {
            kind: req.kind,
            model: req.model.clone(),
            prompt: req.prompt.clone(),
            image_asset_id: source_image(req.kind, source.as_ref())?,
            params: req.params(),
            project_id: Some(project),
            element_id: None,
        };
        request
            .validate()
            .map_err(|(field, message)| EngineError::Invalid(format!("{field} {message}")))?;
        let model = resolve_model(&cached_models(&tx)?, req.kind, req.model.as_deref())?;
        if let Some(sha) = &request.image_asset_id {
            queue_upload(&tx, sha, &now)?;
        }
        let source_size = source
            .as_ref()
            .filter(|_| req.kind.needs_image())
            .map(|s| (s.width, s.height));
        let (w, h) = placeholder_size(req.image_size.as_deref(), source_size);
        let centre = match req.at {
            Some(p) => p,
            None => beside(&tx, project, source.as_ref(), (w, h))?,
        };
        let (element_id, changes) = place_placeholder(&tx, clock, project, centre, (w, h))?;
        request.element_id = Some(element_id);
        let op_id = queue_submit(&tx, &request, &now)?;
        let row = waiting(op_id, project, element_id, request, model, &now);
        generations::save(&tx, &row)?;
        let placeholder = canvas::load_element(&tx, project, element_id)?.to_element(element_id);
        tx.commit()?;
        record_canvas(&mut db, project, &changes);
        drop(db);
        self.changed();
        Ok(Generated {
            generation: row.generation,
            placeholder,
            receipt: EditReceipt { changes },
        })
    }

    /// The generations of one project (or of all), newest first.
    pub fn generations(&self, project: Option<Uuid>) -> Result<Vec<LocalGeneration>> {
        let rows = generations::list(&self.db().conn, project)?;
        Ok(rows.into_iter().map(|r| r.generation).collect())
    }

    /// One generation, by local id or server id.
    pub fn generation(&self, id: Uuid) -> Result<LocalGeneration> {
        Ok(generations::require(&self.db().conn, id)?.generation)
    }

    /// The generations written after revision `rev` (oldest write first) and the latest
    /// revision: what changed since a caller last looked (see [`Engine::changes`]).
    pub fn generations_since(&self, rev: i64) -> Result<(Vec<LocalGeneration>, i64)> {
        let db = self.db();
        let rows = generations::changed_since(&db.conn, rev)?;
        let latest = generations::max_rev(&db.conn)?;
        Ok((rows.into_iter().map(|r| r.generation).collect(), latest))
    }

    /// Cancels a generation and removes its placeholder. Still in the outbox: the request is
    /// withdrawn and the generation is canceled here. On the server: a `generation.cancel` is
    /// queued, and the server's answer (an update) makes it canceled.
    pub fn cancel_generation(&self, id: Uuid) -> Result<LocalGeneration> {
        let now = now_rfc3339();
        let mut db = self.db();
        let Db { conn, clock, .. } = &mut *db;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut row = generations::require(&tx, id)?;
        let status = row.generation.status;
        if status.is_terminal() {
            return Err(EngineError::Invalid(format!(
                "generation {id} is already {}",
                status.as_str()
            )));
        }
        match row.generation.server_id {
            None => {
                if let Some(op) = row.op_id {
                    outbox::withdraw(&tx, op)?;
                }
                row.generation.status = GenerationState::Canceled;
                generations::save(&tx, &row)?;
            }
            Some(server_id) => {
                let payload = OpPayload::GenerationCancel { server_id };
                outbox::enqueue(
                    &tx,
                    Uuid::new_v4(),
                    Some(row.generation.project_id),
                    &payload,
                    &now,
                )?;
            }
        }
        let g = &row.generation;
        let removed = remove_placeholder(&tx, clock, g.project_id, g.element_id)?;
        tx.commit()?;
        record_canvas(&mut db, row.generation.project_id, &removed);
        drop(db);
        self.changed();
        Ok(row.generation)
    }

    /// Sends a failed or canceled generation again as a new request (a new outbox operation,
    /// so a new `Idempotency-Key`) for the same placeholder — brought back if it was removed —
    /// under the same local id. A refused earlier request leaves the outbox.
    pub fn retry_generation(&self, id: Uuid) -> Result<LocalGeneration> {
        self.require_signed_in()?;
        let now = now_rfc3339();
        let mut db = self.db();
        let Db { conn, clock, .. } = &mut *db;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut row = generations::require(&tx, id)?;
        let g = &row.generation;
        if !matches!(
            g.status,
            GenerationState::Failed | GenerationState::Canceled
        ) {
            return Err(EngineError::Invalid(format!(
                "generation {id} is {}: only a failed or canceled generation can be retried",
                g.status.as_str()
            )));
        }
        let (project, element) = (g.project_id, g.element_id);
        require_account_project(&tx, project)?;
        let state = canvas::load_element(&tx, project, element)?;
        if state.clocks.is_empty() {
            return Err(EngineError::ElementNotFound(element));
        }
        let linked = !matches!(state.props.get("generationId"), None | Some(Value::Null));
        let edit = if !state.is_visible() {
            let mut props = state.props.clone();
            props.insert("generationId".into(), Value::Null);
            Some(Edit::Restore {
                element_id: element,
                props,
            })
        } else if linked {
            let mut props = Map::new();
            props.insert("generationId".into(), Value::Null);
            Some(Edit::Set {
                element_id: element,
                props,
            })
        } else {
            None
        };
        let changes = match edit {
            Some(edit) => commit_in(&tx, clock, project, &[edit], Mode::Do)?.0,
            None => Vec::new(),
        };
        if let Some(op) = row.op_id {
            outbox::withdraw(&tx, op)?;
        }
        let op_id = queue_submit(&tx, &row.request, &now)?;
        let mut fresh = waiting(
            op_id,
            project,
            element,
            row.request.clone(),
            g.model.clone(),
            &now,
        );
        fresh.generation.id = row.generation.id;
        fresh.generation.created_at = row.generation.created_at.clone();
        fresh.former_server_ids = std::mem::take(&mut row.former_server_ids);
        fresh.former_server_ids.extend(row.generation.server_id);
        generations::save(&tx, &fresh)?;
        tx.commit()?;
        record_canvas(&mut db, project, &changes);
        drop(db);
        self.changed();
        Ok(fresh.generation)
    }

    /// Centre of a new `width`×`height` item right of everything on the canvas (the origin on
    /// an empty one): where something added without a position goes.
    pub fn free_spot(&self, project: Uuid, width: f64, height: f64) -> Result<Point> {
        let db = self.db();
        if !projects::exists(&db.conn, project)? {
            return Err(EngineError::ProjectNotFound(project));
        }
        beside(&db.conn, project, None, (width, height))
    }

    /// The model catalogue as last fetched from the server (empty before the first sync).
    pub fn models(&self) -> Result<Vec<ModelInfo>> {
        cached_models(&self.db().conn)
    }

    /// Keeps the catalogue the server listed (written only when it changed).
    pub fn set_models(&self, models: &[ModelInfo]) -> Result<()> {
        let json = serde_json::to_string(models)?;
        let db = self.db();
        if settings::get(&db.conn, settings::MODELS)?.as_deref() != Some(json.as_str()) {
            settings::set(&db.conn, settings::MODELS, &json)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "generations_tests.rs"]
mod tests;
