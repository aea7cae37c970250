//! Export and import of a whole project as an `.iskra` bundle (D9).
//!
//! A bundle is a zip: `project.json` ([`BundleManifest`]: the project, every visible element's
//! merge state with its per-property clocks, the viewport's, and the asset list) plus
//! `assets/<sha256>` with the bytes. Importing replays the states as changes that keep their
//! original clocks (grouped by clock, oldest first, so an element's creation travels first) —
//! the same changes a sync would carry — journals them and queues them in the outbox, so the
//! imported project reaches the server like any local edit. Element ids are kept; the project
//! keeps its id unless a project with that id exists here already.

use super::edits::persist_clock;
use super::{Engine, EngineEvent};
use crate::error::{EngineError, Result};
use crate::store::canvas::{self, Origin};
use crate::store::outbox::{self, OpPayload};
use crate::store::{now_rfc3339, projects};
use iskra_protocol::merge::ObjectState;
use iskra_protocol::{Change, Hlc, Project, VIEWPORT_ID};
use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::Map;
use std::collections::BTreeMap;
use uuid::Uuid;

/// `format` of every bundle manifest.
pub const BUNDLE_FORMAT: &str = "iskra-bundle";
/// Manifest version written (and the highest read).
pub const BUNDLE_VERSION: u32 = 1;
/// Name of the manifest inside the zip.
pub const MANIFEST: &str = "project.json";

/// The manifest of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleManifest {
    pub format: String,
    pub version: u32,
    pub project: Project,
    pub elements: Vec<BundleElement>,
    pub viewport: Option<ObjectState>,
    pub assets: Vec<BundleAsset>,
}

/// One element with its merge state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleElement {
    pub id: Uuid,
    pub state: ObjectState,
}

/// One asset of the bundle (its bytes are `assets/<sha256>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleAsset {
    pub sha256: String,
    pub mime: String,
    pub size_bytes: u64,
}

/// The changes that rebuild `state` on an empty object: one per distinct clock, oldest first.
pub fn state_changes(object_id: &str, state: &ObjectState) -> Vec<Change> {
    let mut by_clock: BTreeMap<&Hlc, Map<String, serde_json::Value>> = BTreeMap::new();
    for (prop, clock) in &state.clocks {
        if let Some(v) = state.props.get(prop) {
            by_clock
                .entry(clock)
                .or_default()
                .insert(prop.clone(), v.clone());
        }
    }
    by_clock
        .into_iter()
        .map(|(clock, set)| Change {
            op_id: Change::new_op_id(),
            element_id: object_id.to_owned(),
            set: Some(set),
            delete: None,
            clock: clock.clone(),
        })
        .collect()
}

/// Merges, journals and queues `changes` of `project` (in the caller's transaction).
fn replay(conn: &Connection, project: Uuid, changes: &[Change], now: &str) -> Result<()> {
    for change in changes {
        let (target, _) = change.validate().map_err(EngineError::Invalid)?;
        let set = change.set.as_ref().cloned().unwrap_or_default();
        match target {
            iskra_protocol::Target::Viewport => {
                let mut state = canvas::load_viewport(conn, project)?;
                state.apply_set(&set, &change.clock);
                canvas::save_viewport(conn, project, &state)?;
            }
            iskra_protocol::Target::Element(id) => {
                let mut state = canvas::load_element(conn, project, id)?;
                state.apply_set(&set, &change.clock);
                canvas::save_element(conn, project, id, &state)?;
            }
        }
        canvas::journal_append(conn, project, change, Origin::Local, now)?;
        let payload = OpPayload::Change {
            change: change.clone(),
        };
        outbox::enqueue(conn, change.op_id, Some(project), &payload, now)?;
    }
    Ok(())
}

impl Engine {
    /// The manifest of a project as it stands now (states with clocks, assets it uses).
    pub fn bundle_manifest(&self, project: Uuid) -> Result<BundleManifest> {
        let db = self.db();
        let p = projects::get(&db.conn, project)?.ok_or(EngineError::ProjectNotFound(project))?;
        let states = canvas::element_states(&db.conn, project)?;
        let viewport = canvas::load_viewport(&db.conn, project)?;
        drop(db);
        let mut assets = Vec::new();
        for (_, state) in &states {
            let Some(sha) = state.props.get("assetId").and_then(|v| v.as_str()) else {
                continue;
            };
            if assets.iter().any(|a: &BundleAsset| a.sha256 == sha) {
                continue;
            }
            match self.asset(sha)? {
                Some(rec) => assets.push(BundleAsset {
                    sha256: rec.sha256,
                    mime: rec.mime,
                    size_bytes: rec.size_bytes,
                }),
                None => tracing::warn!(sha256 = sha, "asset not on this device; not bundled"),
            }
        }
        Ok(BundleManifest {
            format: BUNDLE_FORMAT.into(),
            version: BUNDLE_VERSION,
            project: p,
            elements: states
                .into_iter()
                .map(|(id, state)| BundleElement { id, state })
                .collect(),
            viewport: (!viewport.clocks.is_empty()).then_some(viewport),
            assets,
        })
    }

    /// Creates a project from a manifest whose assets are already in the local library.
    /// Keeps the project id when free here, else gives it a new one; returns the project.
    pub fn import_manifest(&self, m: &BundleManifest) -> Result<Project> {
        if m.format != BUNDLE_FORMAT || m.version > BUNDLE_VERSION {
            return Err(EngineError::Invalid(format!(
                "not an Iskra bundle this version can read ({} v{})",
                m.format, m.version
            )));
        }
        iskra_protocol::validate_project_name(&m.project.name).map_err(EngineError::Invalid)?;
        let now = now_rfc3339();
        let mut db = self.db();
        let db = &mut *db;
        let tx = db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = if projects::exists(&tx, m.project.id)? {
            Uuid::new_v4()
        } else {
            m.project.id
        };
        projects::insert(&tx, id, &m.project.name, &now, false)?;
        self.place_new_project(&tx, id)?;
        let create = OpPayload::ProjectCreate {
            name: m.project.name.clone(),
        };
        outbox::enqueue(&tx, Uuid::new_v4(), Some(id), &create, &now)?;
        let mut changes: Vec<Change> = m
            .elements
            .iter()
            .flat_map(|e| state_changes(&e.id.to_string(), &e.state))
            .collect();
        if let Some(v) = &m.viewport {
            changes.extend(state_changes(VIEWPORT_ID, v));
        }
        changes.sort_by(|a, b| a.clock.cmp(&b.clock));
        replay(&tx, id, &changes, &now)?;
        if let Some(last) = changes.last() {
            db.clock.observe(&last.clock);
            persist_clock(&tx, db.clock.last())?;
        }
        let project = projects::get(&tx, id)?.ok_or(EngineError::ProjectNotFound(id))?;
        tx.commit()?;
        db.record(EngineEvent::Projects);
        self.changed();
        Ok(project)
    }
}
