//! Canvas edits of [`Engine`]: add, set properties, delete, viewport; undo and redo.
//!
//! Each call becomes one or more wire [`Change`]s, each with a fresh op id and a fresh tick of
//! the device clock, merged into the element's [`ObjectState`] with the protocol's LWW merge,
//! and committed in ONE transaction together with their journal and outbox rows — before the
//! call returns. The inverse of every action is computed from the state just before it, for
//! undo; undo and redo apply such inverses as new changes (new clocks), so they sync too.

use super::element::{default_prop, NewElement};
use super::{Db, Engine, EngineEvent};
use crate::error::{EngineError, Result};
use crate::store::canvas::{self, Origin};
use crate::store::outbox::{self, OpPayload};
use crate::store::{now_ms, now_rfc3339, projects, settings};
use crate::zorder::keys_on_top;
use iskra_protocol::merge::ObjectState;
use iskra_protocol::{Change, Clock, Element, Hlc, Viewport, VIEWPORT_ID};
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// One change to a canvas, as the caller states it.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Creates a new element with these properties (the id must be unused).
    Create {
        element_id: Uuid,
        props: Map<String, Value>,
    },
    /// Sets properties of an existing, visible element.
    Set {
        element_id: Uuid,
        props: Map<String, Value>,
    },
    /// Deletes a visible element.
    Delete { element_id: Uuid },
    /// Brings back a deleted element with these properties (the inverse of a delete).
    Restore {
        element_id: Uuid,
        props: Map<String, Value>,
    },
    /// Sets viewport properties (`x`, `y`, `scale`); not part of undo history.
    Viewport { props: Map<String, Value> },
}

/// What an acknowledged edit committed: the changes as they will be sent to the server.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EditReceipt {
    pub changes: Vec<Change>,
}

impl EditReceipt {
    /// Op ids of the committed changes.
    pub fn op_ids(&self) -> Vec<Uuid> {
        self.changes.iter().map(|c| c.op_id).collect()
    }
}

/// Why a commit runs: a new action, or replaying an undo/redo step (which skips edits whose
/// element no longer allows them instead of failing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Do,
    Replay,
}

/// The edit that undoes writing `props` onto `state`.
fn inverse_of_set(state: &ObjectState, id: Uuid, props: &Map<String, Value>) -> Edit {
    if !state.is_visible() {
        return Edit::Delete { element_id: id };
    }
    let prior = props
        .keys()
        .map(|k| {
            (
                k.clone(),
                state
                    .props
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| default_prop(k)),
            )
        })
        .collect();
    Edit::Set {
        element_id: id,
        props: prior,
    }
}

fn new_change(element_id: String, set: Option<Map<String, Value>>, clock: Hlc) -> Change {
    let delete = set.is_none().then_some(true);
    Change {
        op_id: Change::new_op_id(),
        element_id,
        set,
        delete,
        clock,
    }
}

/// The edits that create each of `news` (with its id) on top of the project's canvas, in
/// order: the first lowest.
pub(super) fn on_top(
    conn: &Connection,
    project: Uuid,
    news: &[(Uuid, &NewElement)],
) -> Result<Vec<Edit>> {
    let top = canvas::max_z(conn, project)?;
    let zs = keys_on_top(top.as_deref(), news.len());
    Ok(news
        .iter()
        .zip(zs)
        .map(|((id, new), z)| Edit::Create {
            element_id: *id,
            props: new.props(&z),
        })
        .collect())
}

/// Records `clock` as the latest seen when it is later than the stored one.
pub(super) fn persist_clock(conn: &Connection, clock: &Hlc) -> Result<()> {
    let stored = settings::get(conn, settings::HLC_LAST)?.and_then(|s| s.parse::<Hlc>().ok());
    if stored.is_none_or(|s| (clock.millis, clock.counter) > (s.millis, s.counter)) {
        settings::set(conn, settings::HLC_LAST, &clock.to_string())?;
    }
    Ok(())
}

/// Applies `edits` in one transaction; returns the committed changes and the inverse step.
fn commit(
    db: &mut Db,
    project: Uuid,
    edits: &[Edit],
    mode: Mode,
) -> Result<(Vec<Change>, Vec<Edit>)> {
    let Db { conn, clock, .. } = db;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = commit_in(&tx, clock, project, edits, mode)?;
    tx.commit()?;
    record_canvas(db, project, &out.0);
    Ok(out)
}

/// Records the events of committed canvas `changes`: the elements, and the project list (the
/// project's edit time moved).
pub(super) fn record_canvas(db: &mut Db, project: Uuid, changes: &[Change]) {
    if let Some(e) = EngineEvent::canvas(project, changes) {
        db.record(e);
    }
    if !changes.is_empty() {
        db.record(EngineEvent::Projects);
    }
}

/// Applies `edits` inside the caller's transaction (state, journal and outbox rows, in that
/// order); returns the committed changes and the inverse step.
pub(super) fn commit_in(
    tx: &Connection,
    clock: &mut Clock,
    project: Uuid,
    edits: &[Edit],
    mode: Mode,
) -> Result<(Vec<Change>, Vec<Edit>)> {
    let now = now_rfc3339();
    if !projects::exists(tx, project)? {
        return Err(EngineError::ProjectNotFound(project));
    }
    let mut changes = Vec::with_capacity(edits.len());
    let mut inverse = Vec::new();
    for edit in edits {
        let (id, set) = match edit {
            Edit::Viewport { props } => {
                let change = new_change(
                    VIEWPORT_ID.to_owned(),
                    Some(props.clone()),
                    clock.tick(now_ms()),
                );
                change.validate().map_err(EngineError::Invalid)?;
                let mut state = canvas::load_viewport(tx, project)?;
                state.apply_set(props, &change.clock);
                canvas::save_viewport(tx, project, &state)?;
                changes.push(change);
                continue;
            }
            Edit::Create { element_id, props } => (*element_id, Some(props)),
            Edit::Set { element_id, props } | Edit::Restore { element_id, props } => {
                (*element_id, Some(props))
            }
            Edit::Delete { element_id } => (*element_id, None),
        };
        let mut state = canvas::load_element(tx, project, id)?;
        let allowed = match edit {
            Edit::Create { .. } => state.clocks.is_empty() && state.deleted.is_none(),
            Edit::Set { .. } | Edit::Delete { .. } => state.is_visible(),
            _ => true,
        };
        if !allowed {
            match (mode, edit) {
                (Mode::Replay, _) => continue,
                (Mode::Do, Edit::Create { .. }) => {
                    return Err(EngineError::Invalid(format!("element {id} already exists")))
                }
                (Mode::Do, _) => return Err(EngineError::ElementNotFound(id)),
            }
        }
        let change = new_change(id.to_string(), set.cloned(), clock.tick(now_ms()));
        change.validate().map_err(EngineError::Invalid)?;
        match set {
            Some(props) => {
                inverse.push(inverse_of_set(&state, id, props));
                state.apply_set(props, &change.clock);
            }
            None => {
                inverse.push(Edit::Restore {
                    element_id: id,
                    props: state.props.clone(),
                });
                state.apply_delete(&change.clock);
            }
        }
        canvas::save_element(tx, project, id, &state)?;
        changes.push(change);
    }
    for change in &changes {
        canvas::journal_append(tx, project, change, Origin::Local, &now)?;
        let payload = OpPayload::Change {
            change: change.clone(),
        };
        outbox::enqueue(tx, change.op_id, Some(project), &payload, &now)?;
    }
    if let Some(last) = changes.last() {
        persist_clock(tx, &last.clock)?;
        projects::touch(tx, project, &now)?;
    }
    inverse.reverse();
    Ok((changes, inverse))
}

impl Engine {
    /// Applies a user action of one or more edits atomically; it becomes one undo step.
    pub fn apply(&self, project: Uuid, edits: &[Edit]) -> Result<EditReceipt> {
        if edits.is_empty() {
            return Err(EngineError::Invalid(
                "an action needs at least one edit".into(),
            ));
        }
        let mut db = self.db();
        let (changes, inverse) = commit(&mut db, project, edits, Mode::Do)?;
        db.history.entry(project).or_default().record(inverse);
        drop(db);
        self.changed();
        Ok(EditReceipt { changes })
    }

    /// Adds an element on top of the canvas; returns it as materialised.
    pub fn add_element(&self, project: Uuid, new: &NewElement) -> Result<(Element, EditReceipt)> {
        let (mut elements, receipt) = self.add_elements(project, std::slice::from_ref(new))?;
        let element = elements
            .pop()
            .ok_or_else(|| EngineError::Invalid("nothing added".into()))?;
        Ok((element, receipt))
    }

    /// Adds elements on top of the canvas, in order (the last on top), as ONE undo step;
    /// returns them as materialised.
    pub fn add_elements(
        &self,
        project: Uuid,
        news: &[NewElement],
    ) -> Result<(Vec<Element>, EditReceipt)> {
        let ids: Vec<Uuid> = news.iter().map(|_| Uuid::new_v4()).collect();
        let mut db = self.db();
        let pairs: Vec<(Uuid, &NewElement)> = ids.iter().copied().zip(news).collect();
        let edits = on_top(&db.conn, project, &pairs)?;
        let (changes, inverse) = commit(&mut db, project, &edits, Mode::Do)?;
        db.history.entry(project).or_default().record(inverse);
        let elements = ids
            .iter()
            .map(|id| Ok(canvas::load_element(&db.conn, project, *id)?.to_element(*id)))
            .collect::<Result<Vec<_>>>()?;
        drop(db);
        self.changed();
        Ok((elements, EditReceipt { changes }))
    }

    /// Sets properties of an element (validated like the server does).
    pub fn set_properties(
        &self,
        project: Uuid,
        element: Uuid,
        props: Map<String, Value>,
    ) -> Result<EditReceipt> {
        self.apply(
            project,
            &[Edit::Set {
                element_id: element,
                props,
            }],
        )
    }

    /// Moves an element to (`x`, `y`).
    pub fn move_element(
        &self,
        project: Uuid,
        element: Uuid,
        x: f64,
        y: f64,
    ) -> Result<EditReceipt> {
        let mut props = Map::new();
        props.insert("x".into(), json!(x));
        props.insert("y".into(), json!(y));
        self.set_properties(project, element, props)
    }

    /// Deletes an element.
    pub fn delete_element(&self, project: Uuid, element: Uuid) -> Result<EditReceipt> {
        self.apply(
            project,
            &[Edit::Delete {
                element_id: element,
            }],
        )
    }

    /// Saves the viewport (not an undo step).
    pub fn set_viewport(&self, project: Uuid, viewport: &Viewport) -> Result<EditReceipt> {
        let props = json!({"x": viewport.x, "y": viewport.y, "scale": viewport.scale});
        let props = props.as_object().cloned().unwrap_or_default();
        let mut db = self.db();
        let (changes, _) = commit(&mut db, project, &[Edit::Viewport { props }], Mode::Do)?;
        drop(db);
        self.changed();
        Ok(EditReceipt { changes })
    }

    /// Undoes the last action of the project; `None` when there is nothing to undo.
    pub fn undo(&self, project: Uuid) -> Result<Option<EditReceipt>> {
        self.replay(project, true)
    }

    /// Redoes the last undone action; `None` when there is nothing to redo.
    pub fn redo(&self, project: Uuid) -> Result<Option<EditReceipt>> {
        self.replay(project, false)
    }

    fn replay(&self, project: Uuid, undo: bool) -> Result<Option<EditReceipt>> {
        let mut db = self.db();
        let history = db.history.entry(project).or_default();
        let Some(step) = (if undo {
            history.pop_undo()
        } else {
            history.pop_redo()
        }) else {
            return Ok(None);
        };
        match commit(&mut db, project, &step, Mode::Replay) {
            Ok((changes, inverse)) => {
                let history = db.history.entry(project).or_default();
                if undo {
                    history.push_redo(inverse);
                } else {
                    history.push_undo(inverse);
                }
                drop(db);
                self.changed();
                Ok(Some(EditReceipt { changes }))
            }
            Err(e) => {
                let history = db.history.entry(project).or_default();
                if undo {
                    history.restore_undo(step);
                } else {
                    history.restore_redo(step);
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
#[path = "edits_tests.rs"]
mod tests;
