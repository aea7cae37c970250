//! The canvas side of the free first generation before sign-in (S6): the placeholder it shows
//! while the server works, the result put in its place, and the request kept in the store
//! while it waits (so a restart can pick it up).
//!
//! The server runs the job with no account behind it, so nothing of it reaches the outbox as a
//! generation: the placeholder is an ordinary (not undoable) canvas element of kind
//! `generation`, the result an ordinary imported asset placed where the placeholder stood —
//! with [`Engine::import_asset`] and [`NewElement::for_asset`], as a dropped file, at the
//! placeholder's height as the server places outputs. The HTTP side is [`crate::sync::anonymous`].

use super::edits::record_canvas;
use super::generation_request::beside;
use super::generations::{place_placeholder, remove_placeholder};
use super::{asset_size, Db, Engine, NewElement};
use crate::error::{EngineError, Result};
use crate::generation::{placeholder_size, Point};
use crate::store::{canvas, settings};
use iskra_protocol::{AnonymousAccess, Element};
use rusqlite::TransactionBehavior;
use serde::{Deserialize, Serialize};
use std::path::Path;
use uuid::Uuid;

/// A free generation the server accepted and this device still waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingFreeGeneration {
    pub project_id: Uuid,
    /// The placeholder the result replaces.
    pub element_id: Uuid,
    pub prompt: String,
    /// The capability to read the result (its token is the only key to it).
    pub access: AnonymousAccess,
}

impl Engine {
    /// Places the placeholder of a free generation on top of `project`'s canvas, sized from
    /// `image_size`, centred on `at` (else right of the canvas's content). Not an undo step.
    pub fn place_free_placeholder(
        &self,
        project: Uuid,
        image_size: Option<&str>,
        at: Option<Point>,
    ) -> Result<Element> {
        let mut db = self.db();
        let Db { conn, clock, .. } = &mut *db;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let size = placeholder_size(image_size, None);
        let centre = match at {
            Some(p) => p,
            None => beside(&tx, project, None, size)?,
        };
        let (id, changes) = place_placeholder(&tx, clock, project, centre, size)?;
        let placeholder = canvas::load_element(&tx, project, id)?.to_element(id);
        tx.commit()?;
        record_canvas(&mut db, project, &changes);
        drop(db);
        self.changed();
        Ok(placeholder)
    }

    /// Keeps the accepted request until its result lands (one at a time: the server grants
    /// one a day).
    pub fn remember_free_generation(&self, pending: &PendingFreeGeneration) -> Result<()> {
        self.set_setting(settings::FREE_GENERATION, &serde_json::to_string(pending)?)
    }

    /// The free generation still waited for, if any.
    pub fn pending_free_generation(&self) -> Result<Option<PendingFreeGeneration>> {
        match self.setting(settings::FREE_GENERATION)? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    /// Puts the downloaded result `file` where the placeholder `element` stands: imported
    /// into the asset store, added centred on the placeholder at its height (as the server
    /// places outputs; on top, one undo step), then the placeholder removed and the waiting
    /// request forgotten. Returns the placed element.
    pub fn land_free_generation(
        &self,
        project: Uuid,
        element: Uuid,
        file: &Path,
    ) -> Result<Element> {
        let ph = canvas::load_element(&self.db().conn, project, element)?;
        let (asset, _) = self.import_asset(file)?;
        let (w, h) = asset_size(&asset);
        let (cx, cy, height) = if ph.is_visible() {
            let e = ph.to_element(element);
            (e.x + e.width / 2.0, e.y + e.height / 2.0, e.height)
        } else {
            // The user deleted the placeholder meanwhile: the result still lands.
            let at = self.free_spot(project, w, h)?;
            (at.x, at.y, h)
        };
        let width = if h > 0.0 { w * height / h } else { height };
        let mut new = NewElement::for_asset(&asset, cx - width / 2.0, cy - height / 2.0);
        (new.width, new.height) = (width, height);
        let (mut placed, _) = self.add_elements(project, &[new])?;
        self.drop_free_placeholder(project, element)?;
        placed
            .pop()
            .ok_or_else(|| EngineError::Invalid("nothing placed".into()))
    }

    /// Removes the placeholder of a free generation (when it failed, was refused or landed)
    /// and forgets the waiting request, in one transaction.
    pub fn drop_free_placeholder(&self, project: Uuid, element: Uuid) -> Result<()> {
        let mut db = self.db();
        let Db { conn, clock, .. } = &mut *db;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let removed = remove_placeholder(&tx, clock, project, element)?;
        settings::remove(&tx, settings::FREE_GENERATION)?;
        tx.commit()?;
        record_canvas(&mut db, project, &removed);
        drop(db);
        self.changed();
        Ok(())
    }
}
