//! Projects made on this device while signed out (D6). They stay off the account until the
//! user answers the offer made after the first sign-in: add them to the account, or keep them
//! on this device only (each kept one can still be added later, one by one).
//!
//! While signed out (the shell says so with [`Engine::set_signed_in`]) and before the offer is
//! answered, a new project is [`ProjectScope::Offered`]: nothing of it reaches the outbox — not
//! its creation, edits, rename or delete ([`outbox::enqueue`] leaves them out) — and the upload
//! of an asset only its canvas shows waits. Adding a project to the account queues its creation
//! and its whole canvas state with the original clocks, the changes a sync would have carried.
//! Keeping it makes it [`ProjectScope::Device`]: fully editable here, never sent. Once the offer
//! is answered, projects made while signed out sync at the next sign-in as before.

use super::bundle::state_changes;
use super::{Engine, EngineEvent};
use crate::error::{EngineError, Result};
use crate::store::outbox::{self, OpPayload};
use crate::store::projects::{self, ProjectScope};
use crate::store::{canvas, now_rfc3339, settings};
use iskra_protocol::{Project, VIEWPORT_ID};
use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;
use std::sync::atomic::Ordering;
use uuid::Uuid;

/// The projects on this device only.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalProjects {
    /// Made while signed out; the offer to add them to the account is unanswered.
    pub offered: Vec<Project>,
    /// Kept on this device by the user's choice.
    pub kept: Vec<Project>,
}

impl LocalProjects {
    /// Ids of every project on this device only.
    pub fn ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.offered.iter().chain(&self.kept).map(|p| p.id)
    }
}

/// Moves `id` into the account and queues its creation and whole canvas state (in the
/// caller's transaction). False when it was in the account already.
fn join_account(conn: &Connection, id: Uuid, now: &str) -> Result<bool> {
    match projects::scope(conn, id)? {
        None => return Err(EngineError::ProjectNotFound(id)),
        Some(ProjectScope::Account) => return Ok(false),
        Some(_) => {}
    }
    projects::set_scope(conn, id, ProjectScope::Account)?;
    let p = projects::get(conn, id)?.ok_or(EngineError::ProjectNotFound(id))?;
    let create = OpPayload::ProjectCreate { name: p.name };
    outbox::enqueue(conn, Uuid::new_v4(), Some(id), &create, now)?;
    let mut changes = Vec::new();
    for (eid, state) in canvas::element_states(conn, id)? {
        changes.extend(state_changes(&eid.to_string(), &state));
    }
    changes.extend(state_changes(
        VIEWPORT_ID,
        &canvas::load_viewport(conn, id)?,
    ));
    changes.sort_by(|a, b| a.clock.cmp(&b.clock));
    for change in changes {
        let op_id = change.op_id;
        outbox::enqueue(conn, op_id, Some(id), &OpPayload::Change { change }, now)?;
    }
    Ok(true)
}

impl Engine {
    /// Tells the engine whether a session is at hand. Until told otherwise it assumes one is,
    /// so engines driven without a shell queue everything as always.
    pub fn set_signed_in(&self, signed_in: bool) {
        self.inner.signed_in.store(signed_in, Ordering::SeqCst);
    }

    /// Gives a project just inserted its scope (in the caller's transaction, before anything
    /// of it is queued): offered when made while signed out before the offer was answered.
    pub(super) fn place_new_project(&self, conn: &Connection, id: Uuid) -> Result<()> {
        let signed_in = self.inner.signed_in.load(Ordering::SeqCst);
        if !signed_in && settings::get(conn, settings::LOCAL_OFFER_ANSWERED)?.is_none() {
            projects::set_scope(conn, id, ProjectScope::Offered)?;
        }
        Ok(())
    }

    /// The projects on this device only, most recently modified first.
    pub fn local_projects(&self) -> Result<LocalProjects> {
        let db = self.db();
        Ok(LocalProjects {
            offered: projects::in_scope(&db.conn, ProjectScope::Offered)?,
            kept: projects::in_scope(&db.conn, ProjectScope::Device)?,
        })
    }

    /// How many projects are on this device only (offered or kept).
    pub fn local_only_project_count(&self) -> Result<usize> {
        Ok(self.local_projects()?.ids().count())
    }

    /// Whether the user answered the offer (either way).
    pub fn local_offer_answered(&self) -> Result<bool> {
        Ok(self.setting(settings::LOCAL_OFFER_ANSWERED)?.is_some())
    }

    /// Answers the offer with "add them": every project on this device only joins the
    /// account, its creation and whole canvas state queued. Returns how many joined.
    pub fn import_local_projects(&self) -> Result<usize> {
        let ids: Vec<Uuid> = self.local_projects()?.ids().collect();
        self.answer_offer(|conn, now| {
            for &id in &ids {
                join_account(conn, id, now)?;
            }
            Ok(ids.len())
        })
    }

    /// Answers the offer with "keep them": the offered projects stay on this device only and
    /// nothing of them is ever sent. Returns how many were kept.
    pub fn keep_local_projects(&self) -> Result<usize> {
        let ids: Vec<Uuid> = self
            .local_projects()?
            .offered
            .iter()
            .map(|p| p.id)
            .collect();
        self.answer_offer(|conn, _| {
            for &id in &ids {
                projects::set_scope(conn, id, ProjectScope::Device)?;
            }
            Ok(ids.len())
        })
    }

    /// Adds one project on this device only to the account (the projects panel's "Add to
    /// account"). False when it was in the account already.
    pub fn add_project_to_account(&self, id: Uuid) -> Result<bool> {
        let mut db = self.db();
        let tx = db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let joined = join_account(&tx, id, &now_rfc3339())?;
        tx.commit()?;
        db.record(EngineEvent::Projects);
        drop(db);
        if joined {
            self.queued();
        }
        Ok(joined)
    }

    /// Runs `f` and records the answer, in one transaction; wakes the sync loop.
    fn answer_offer(&self, f: impl FnOnce(&Connection, &str) -> Result<usize>) -> Result<usize> {
        let now = now_rfc3339();
        let mut db = self.db();
        let tx = db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = f(&tx, &now)?;
        settings::set(&tx, settings::LOCAL_OFFER_ANSWERED, &now)?;
        tx.commit()?;
        db.record(EngineEvent::Projects);
        drop(db);
        self.queued();
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::tests::engine;
    use crate::media::tests::PNG_1X1;
    use crate::store::outbox::OpPayload;
    use crate::{Engine, NewElement};
    use uuid::Uuid;

    /// Kinds of every queued operation.
    fn kinds(e: &Engine) -> Vec<&'static str> {
        e.outbox()
            .unwrap()
            .iter()
            .map(|o| o.payload.kind())
            .collect()
    }

    /// A project made while signed out with one element, moved once and renamed.
    fn signed_out_project(e: &Engine) -> (Uuid, Uuid) {
        e.set_signed_in(false);
        let p = e.create_project(None).unwrap().id;
        let el = e
            .add_element(p, &NewElement::image(None, 0.0, 0.0, 10.0, 10.0))
            .unwrap()
            .0;
        e.move_element(p, el.id, 3.0, 4.0).unwrap();
        e.rename_project(p, "Trip").unwrap();
        (p, el.id)
    }

    #[test]
    fn signed_out_projects_queue_nothing_until_the_offer_is_answered() {
        let (e, _dir) = engine();
        let (p, _) = signed_out_project(&e);
        assert!(e.outbox().unwrap().is_empty(), "{:?}", kinds(&e));
        e.set_signed_in(true);
        let local = e.local_projects().unwrap();
        assert_eq!(local.offered.len(), 1);
        assert_eq!(local.offered[0].name, "Trip");
        assert!(local.kept.is_empty());
        assert!(!e.local_offer_answered().unwrap());
        // Still editable, still queueing nothing while the offer waits.
        e.create_project(Some("Made signed in")).unwrap();
        let el = e
            .add_element(p, &NewElement::image(None, 5.0, 5.0, 1.0, 1.0))
            .unwrap()
            .0;
        assert_eq!(e.open_project(p).unwrap().canvas.elements.len(), 2);
        assert_eq!(kinds(&e), ["project.create"], "only the signed-in project");
        e.delete_element(p, el.id).unwrap();
        assert_eq!(e.outbox().unwrap().len(), 1);
    }

    #[test]
    fn add_queues_the_creation_and_whole_state_with_original_clocks() {
        let (e, _dir) = engine();
        let (p, el) = signed_out_project(&e);
        let clock = e.bundle_manifest(p).unwrap().elements[0].state.clocks["x"].clone();
        e.set_signed_in(true);
        assert_eq!(e.import_local_projects().unwrap(), 1);
        assert!(e.local_offer_answered().unwrap());
        assert_eq!(e.local_only_project_count().unwrap(), 0);
        let ops = e.outbox().unwrap();
        assert!(matches!(&ops[0].payload, OpPayload::ProjectCreate { name } if name == "Trip"));
        assert!(
            ops.len() >= 3,
            "create + the element's clocks: {:?}",
            kinds(&e)
        );
        assert!(ops[1..].iter().all(|o| matches!(&o.payload,
            OpPayload::Change { change } if change.element_id == el.to_string())));
        let moved = ops.iter().find_map(|o| match &o.payload {
            OpPayload::Change { change } if change.set.as_ref().unwrap().contains_key("x") => {
                Some(change.clock.clone())
            }
            _ => None,
        });
        assert_eq!(moved, Some(clock), "the move keeps its clock");
        assert_eq!(e.pending_ops().unwrap().len(), ops.len());
        // From now on the project syncs like any other.
        e.move_element(p, el, 9.0, 9.0).unwrap();
        assert_eq!(e.outbox().unwrap().len(), ops.len() + 1);
        // Answered once: later signed-out projects sync at the next sign-in as before.
        e.set_signed_in(false);
        e.create_project(None).unwrap();
        assert_eq!(e.outbox().unwrap().len(), ops.len() + 2);
        assert_eq!(e.local_only_project_count().unwrap(), 0);
    }

    #[test]
    fn keep_sends_nothing_ever_and_a_later_add_still_works() {
        let (e, dir) = engine();
        let (p, el) = signed_out_project(&e);
        let file = dir.path().join("in.png");
        std::fs::write(&file, PNG_1X1).unwrap();
        let image = e.add_media(p, &file, 1.0, 1.0).unwrap();
        let sha = image.asset_id.clone().unwrap();
        e.set_signed_in(true);
        assert_eq!(e.keep_local_projects().unwrap(), 1);
        let local = e.local_projects().unwrap();
        assert!(local.offered.is_empty());
        assert_eq!(local.kept[0].id, p);

        // Edits, undo and renames keep working and queue nothing; the asset shown only on the
        // kept canvas waits (listed, neither pending nor counted).
        e.move_element(p, el, 7.0, 7.0).unwrap();
        e.undo(p).unwrap();
        e.rename_project(p, "Private").unwrap();
        assert_eq!(kinds(&e), ["asset.upload"]);
        assert!(e.pending_ops().unwrap().is_empty());
        assert_eq!(e.outbox_counts().unwrap(), (0, 0));

        // The same asset on a synced canvas: its upload goes.
        let other = e.create_project(None).unwrap().id;
        let shown = e
            .add_element(other, &NewElement::image(Some(sha), 0.0, 0.0, 1.0, 1.0))
            .unwrap()
            .0;
        assert_eq!(e.outbox_counts().unwrap().0, 3);
        e.delete_element(other, shown.id).unwrap();
        assert_eq!(e.outbox_counts().unwrap().0, 3, "create + add + delete");

        // "Add to account" later, from the projects panel.
        assert!(e.add_project_to_account(p).unwrap());
        assert!(
            !e.add_project_to_account(p).unwrap(),
            "already in the account"
        );
        assert!(e.add_project_to_account(Uuid::new_v4()).is_err());
        let pending = e.pending_ops().unwrap();
        assert!(pending.iter().any(|o| matches!(&o.payload,
            OpPayload::ProjectCreate { name } if name == "Private")));
        assert!(pending
            .iter()
            .any(|o| matches!(o.payload, OpPayload::AssetUpload { .. })));
        assert_eq!(e.local_only_project_count().unwrap(), 0);
    }

    #[test]
    fn deleting_a_project_kept_off_the_account_queues_nothing() {
        let (e, _dir) = engine();
        let (p, _) = signed_out_project(&e);
        e.delete_project(p).unwrap();
        assert!(e.outbox().unwrap().is_empty());
        assert!(e.delete_project(p).is_err());
        assert!(
            e.outbox().unwrap().is_empty(),
            "a failed delete queues nothing"
        );
    }
}
