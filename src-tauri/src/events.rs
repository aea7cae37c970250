//! Engine state → Tauri events. One forwarder task follows the engine's typed change events
//! (`Engine::events`: every write — local edits, other devices' changes merged by sync, hot
//! folder imports — says which project's elements, the project list, which assets, or
//! "something else") and forwards them: `canvas-changed` with exactly the written elements of
//! the open project that the UI does not have yet (read by id, compared with the canvas
//! mirror — never the whole canvas), `projects-changed`, `assets-changed`, and on other writes
//! `account-changed` (also when the engine learnt a new plan or billing status),
//! `credits-changed` with the balance the engine keeps and `generation-changed` with each
//! generation written since the last pass (the engine answers exactly those, by revision).
//! `sync-status` is pushed when it changed, after a write or a command; it is re-read on a
//! timer only while uploads are paused (the pause ends by time, not by a write). "Saved N s
//! ago" is the UI's to age. A forwarder that lagged behind the event buffer reads everything
//! again and compares (the only full pass). `open-project` comes from deep links and second
//! instances (see `lib.rs`).

use crate::commands::account::{reload_account, Account};
use crate::commands::canvas::CanvasDelta;
use crate::commands::sync::build_status;
use crate::commands::Shared;
use crate::error::CmdResult;
use crate::state::{AppState, CanvasMirror};
use iskra_engine::{Engine, EngineEvent};
use std::collections::{BTreeSet, HashSet};
use std::time::Duration;
use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use uuid::Uuid;

/// `SyncStatus`: autosave indicator, online flag, pending count, rejected operations.
pub const EVENT_SYNC_STATUS: &str = "sync-status";
/// `null`: the project list is stale.
pub const EVENT_PROJECTS_CHANGED: &str = "projects-changed";
/// `null`: the asset library or the storage quota changed.
pub const EVENT_ASSETS_CHANGED: &str = "assets-changed";
/// `CanvasDelta`: changes the UI did not make itself.
pub const EVENT_CANVAS_CHANGED: &str = "canvas-changed";
/// `Account`: signed in or out.
pub const EVENT_ACCOUNT_CHANGED: &str = "account-changed";
/// `Credits | null`: the credit balance changed (null: signed out).
pub const EVENT_CREDITS_CHANGED: &str = "credits-changed";
/// `LocalGeneration`: one generation changed (status, queue position, outputs, error).
pub const EVENT_GENERATION_CHANGED: &str = "generation-changed";
/// `string`: a project id to open (deep link `iskra://project/<id>`, second instance).
pub const EVENT_OPEN_PROJECT: &str = "open-project";

/// How often the sync status is re-read while uploads are paused (only then does it change
/// without a write: the pause runs out).
pub const PAUSED_RECHECK: Duration = Duration::from_secs(1);

/// What the forwarder last reported.
#[derive(Default)]
struct Seen {
    status: Option<String>,
    projects: Option<String>,
    assets: Option<String>,
    account: Option<String>,
    credits: Option<String>,
    /// Revision of the last generation reported (`Engine::generations_since`).
    generations: Option<i64>,
}

/// What the engine said changed since the last pass.
#[derive(Debug, Default)]
pub struct Batch {
    /// Read and compare everything (the first pass, or the forwarder lagged).
    pub full: bool,
    /// A write the typed events do not describe.
    pub other: bool,
    pub projects: bool,
    pub assets: bool,
    /// Written element ids, by project.
    pub canvas: std::collections::HashMap<Uuid, BTreeSet<Uuid>>,
}

impl Batch {
    fn full() -> Self {
        Self {
            full: true,
            ..Self::default()
        }
    }

    /// Takes in one engine event.
    pub fn add(&mut self, event: EngineEvent) {
        match event {
            EngineEvent::Canvas { project, elements } => {
                self.canvas.entry(project).or_default().extend(elements)
            }
            EngineEvent::Projects => self.projects = true,
            EngineEvent::Assets { .. } => self.assets = true,
            EngineEvent::Other => self.other = true,
        }
    }

    /// Whether the store changed.
    fn stored(&self) -> bool {
        self.full || self.other || self.projects || self.assets || !self.canvas.is_empty()
    }
}

/// One pass over `batch`; returns the events to emit as (name, JSON payload).
fn compare(
    s: &AppState,
    seen: &mut Seen,
    batch: &Batch,
) -> CmdResult<Vec<(&'static str, serde_json::Value)>> {
    let mut out = Vec::new();
    let changed = |slot: &mut Option<String>, now: String| {
        let first = slot.is_none();
        let differs = slot.as_deref() != Some(now.as_str());
        *slot = Some(now);
        differs && !first
    };
    let status = serde_json::to_value(build_status(s)?).unwrap_or_default();
    if changed(&mut seen.status, status.to_string()) {
        out.push((EVENT_SYNC_STATUS, status));
    }
    if batch.full || batch.other {
        reload_account(s);
    }
    let account = serde_json::to_value(s.account()).unwrap_or_default();
    if changed(&mut seen.account, account.to_string()) {
        out.push((EVENT_ACCOUNT_CHANGED, account));
    }
    if batch.full || batch.other || seen.credits.is_none() {
        let credits = match s.account() {
            Account::SignedOut => None,
            Account::SignedIn { .. } => s.engine.cached_credits()?,
        };
        let credits = serde_json::to_value(credits).unwrap_or_default();
        if changed(&mut seen.credits, credits.to_string()) {
            out.push((EVENT_CREDITS_CHANGED, credits));
        }
    }
    if !batch.stored() {
        return Ok(out);
    }
    let (written, rev) = s
        .engine
        .generations_since(seen.generations.unwrap_or(i64::MAX))?;
    if seen.generations.is_some() {
        for g in written {
            out.push((
                EVENT_GENERATION_CHANGED,
                serde_json::to_value(g).unwrap_or_default(),
            ));
        }
    }
    seen.generations = Some(rev);
    if batch.full {
        let projects = serde_json::to_string(&s.engine.list_projects()?).unwrap_or_default();
        if changed(&mut seen.projects, projects) {
            out.push((EVENT_PROJECTS_CHANGED, serde_json::Value::Null));
        }
        let assets: Vec<(String, bool)> = s
            .engine
            .assets()?
            .into_iter()
            .map(|a| (a.sha256, a.uploaded))
            .collect();
        if changed(&mut seen.assets, format!("{assets:?}")) {
            out.push((EVENT_ASSETS_CHANGED, serde_json::Value::Null));
        }
        if let Some(delta) = canvas_delta(s)? {
            out.push((
                EVENT_CANVAS_CHANGED,
                serde_json::to_value(delta).unwrap_or_default(),
            ));
        }
        return Ok(out);
    }
    if batch.projects {
        out.push((EVENT_PROJECTS_CHANGED, serde_json::Value::Null));
    }
    if batch.assets {
        out.push((EVENT_ASSETS_CHANGED, serde_json::Value::Null));
    }
    let mut mirror = s.canvas();
    if batch.projects {
        if let Some(p) = mirror.project {
            if s.engine.project(p).is_err() {
                // Deleted (here or on another device): `projects-changed` tells the UI.
                *mirror = CanvasMirror::default();
            }
        }
    }
    if let Some(delta) = typed_canvas_delta(&s.engine, &mut mirror, &batch.canvas)? {
        out.push((
            EVENT_CANVAS_CHANGED,
            serde_json::to_value(delta).unwrap_or_default(),
        ));
    }
    Ok(out)
}

/// The open project's written elements (`written`, by project) that differ from the mirror:
/// reads those elements only, so one moved element costs one read and one element sent.
pub fn typed_canvas_delta(
    engine: &Engine,
    mirror: &mut CanvasMirror,
    written: &std::collections::HashMap<Uuid, BTreeSet<Uuid>>,
) -> CmdResult<Option<CanvasDelta>> {
    let Some(project) = mirror.project else {
        return Ok(None);
    };
    let Some(ids) = written.get(&project) else {
        return Ok(None);
    };
    let ids: Vec<Uuid> = ids.iter().copied().collect();
    let now = engine.elements_now(project, &ids)?;
    let delta = CanvasDelta {
        project_id: project.to_string(),
        upserted: now
            .present
            .into_iter()
            .filter(|e| mirror.elements.get(&e.id) != Some(e))
            .collect(),
        deleted: now
            .gone
            .iter()
            .filter(|id| mirror.elements.contains_key(id))
            .map(Uuid::to_string)
            .collect(),
        can_undo: now.can_undo,
        can_redo: now.can_redo,
        selection: None,
    };
    let updated_at = engine.project(project).ok().map(|p| p.updated_at);
    mirror.apply(&delta, updated_at);
    Ok((!delta.upserted.is_empty() || !delta.deleted.is_empty()).then_some(delta))
}

/// The open project's changes that the mirror does not have yet.
fn canvas_delta(s: &AppState) -> CmdResult<Option<CanvasDelta>> {
    full_canvas_delta(&s.engine, &mut s.canvas())
}

/// The open project's changes that the mirror does not have yet, found by reading the whole
/// canvas and comparing every element (only after the forwarder lagged).
pub fn full_canvas_delta(
    engine: &Engine,
    mirror: &mut CanvasMirror,
) -> CmdResult<Option<CanvasDelta>> {
    let Some(project) = mirror.project else {
        return Ok(None);
    };
    let Ok(listed) = engine.project(project) else {
        // Deleted (here or on another device): `projects-changed` tells the UI.
        *mirror = Default::default();
        return Ok(None);
    };
    if listed.updated_at == mirror.updated_at {
        return Ok(None);
    }
    let open = engine.open_project(project)?;
    let now: HashSet<_> = open.canvas.elements.iter().map(|e| e.id).collect();
    let delta = CanvasDelta {
        project_id: project.to_string(),
        upserted: open
            .canvas
            .elements
            .iter()
            .filter(|e| mirror.elements.get(&e.id) != Some(e))
            .cloned()
            .collect(),
        deleted: mirror
            .elements
            .keys()
            .filter(|id| !now.contains(id))
            .map(|id| id.to_string())
            .collect(),
        can_undo: open.can_undo,
        can_redo: open.can_redo,
        selection: None,
    };
    mirror.reset(project, open.project.updated_at, &open.canvas.elements);
    Ok((!delta.upserted.is_empty() || !delta.deleted.is_empty()).then_some(delta))
}

/// Forwards engine changes as events until the app closes.
pub async fn forward(app: AppHandle, state: Shared) {
    let mut closing = state.closing.subscribe();
    let mut events = state.engine.events();
    let mut seen = Seen::default();
    let mut batch = Batch::full();
    loop {
        let s = std::sync::Arc::clone(&state);
        let result = tauri::async_runtime::spawn_blocking(move || {
            let out = compare(&s, &mut seen, &batch);
            (seen, out)
        })
        .await;
        let mut paused = false;
        match result {
            Ok((back, events)) => {
                seen = back;
                paused = seen
                    .status
                    .as_deref()
                    .is_some_and(|s| s.contains(r#""state":"paused""#));
                match events {
                    Ok(events) => {
                        for (name, payload) in events {
                            if let Err(e) = app.emit(name, payload) {
                                tracing::warn!(event = name, error = %e, "emit failed");
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "event forwarder pass failed"),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "event forwarder task failed");
                seen = Seen::default();
            }
        }
        batch = Batch::default();
        tokio::select! {
            r = events.recv() => match r {
                Ok(e) => batch.add(e),
                Err(RecvError::Lagged(_)) => batch.full = true,
                Err(RecvError::Closed) => return,
            },
            // A command ran: the status may differ (signed in or out) without a write.
            _ = state.wake.notified() => {}
            _ = tokio::time::sleep(PAUSED_RECHECK), if paused => {}
            _ = closing.changed() => return,
        }
        // Take in everything already published, so a burst is one pass.
        loop {
            match events.try_recv() {
                Ok(e) => batch.add(e),
                Err(TryRecvError::Lagged(_)) => batch.full = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iskra_engine::NewElement;

    /// A project of `n` elements, open in a fresh mirror, and a receiver of the engine's events
    /// from after its creation.
    fn canvas_of(
        n: usize,
    ) -> (
        Engine,
        tempfile::TempDir,
        Uuid,
        CanvasMirror,
        tokio::sync::broadcast::Receiver<EngineEvent>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        let p = engine.create_project(None).unwrap().id;
        let news: Vec<NewElement> = (0..n)
            .map(|i| NewElement::image(None, i as f64 * 10.0, 0.0, 8.0, 8.0))
            .collect();
        engine.add_elements(p, &news).unwrap();
        let open = engine.open_project(p).unwrap();
        let mut mirror = CanvasMirror::default();
        mirror.reset(p, open.project.updated_at, &open.canvas.elements);
        let rx = engine.events();
        (engine, dir, p, mirror, rx)
    }

    /// Bytes the webview receives for a pass's events: names and JSON payloads.
    fn bytes(events: &[(&str, serde_json::Value)]) -> usize {
        events
            .iter()
            .map(|(n, v)| n.len() + v.to_string().len())
            .sum()
    }

    /// One element moved on a 2,000-element canvas by someone else than the UI (another
    /// device, the CLI, a hot folder): what the forwarder sends and reads, the typed way and
    /// the old way (read the whole canvas, compare with the mirror). Prints the README's
    /// figures: `cargo test -p iskra-desktop --lib events::tests -- --nocapture`.
    #[test]
    fn one_moved_element_costs_the_same_on_any_canvas() {
        let mut sent = Vec::new();
        for n in [20, 2_000] {
            let (engine, _dir, p, mut mirror, mut rx) = canvas_of(n);
            let moved = engine.open_project(p).unwrap().canvas.elements[n / 2].id;
            let mut old_mirror = CanvasMirror::default();
            let open = engine.open_project(p).unwrap();
            old_mirror.reset(p, open.project.updated_at, &open.canvas.elements);
            engine.move_element(p, moved, 1.0, 2.0).unwrap();
            let mut batch = Batch::default();
            while let Ok(e) = rx.try_recv() {
                batch.add(e);
            }
            assert_eq!(batch.canvas[&p].len(), 1, "one element written");
            assert!(batch.projects && !batch.other && !batch.full);
            let typed = typed_canvas_delta(&engine, &mut mirror, &batch.canvas)
                .unwrap()
                .unwrap();
            assert_eq!(typed.upserted.len(), 1);
            let after = vec![
                (EVENT_CANVAS_CHANGED, serde_json::to_value(&typed).unwrap()),
                (EVENT_PROJECTS_CHANGED, serde_json::Value::Null),
            ];
            // The old pass read all `n` elements to find the same one.
            let full = full_canvas_delta(&engine, &mut old_mirror)
                .unwrap()
                .unwrap();
            assert_eq!(full.upserted, typed.upserted);
            let before = vec![
                (EVENT_CANVAS_CHANGED, serde_json::to_value(&full).unwrap()),
                (EVENT_PROJECTS_CHANGED, serde_json::Value::Null),
            ];
            println!(
                "{n} elements, one moved: sent {} B before, {} B after; elements read {n} before, {} after",
                bytes(&before),
                bytes(&after),
                batch.canvas[&p].len()
            );
            sent.push(bytes(&after));
            // Nothing more to say: the mirror has it now.
            assert!(typed_canvas_delta(&engine, &mut mirror, &batch.canvas)
                .unwrap()
                .is_none());
        }
        // The same event on both canvases; only the element's own z key is a digit longer.
        assert!(
            sent[1].abs_diff(sent[0]) <= 2,
            "bytes per edit do not grow with the canvas: {sent:?}"
        );
        assert!(sent[1] < 1_000, "{} B", sent[1]);
    }

    #[test]
    fn other_projects_and_known_elements_send_nothing() {
        let (engine, _dir, p, mut mirror, mut rx) = canvas_of(3);
        let other = engine.create_project(None).unwrap().id;
        engine
            .add_element(other, &NewElement::image(None, 0.0, 0.0, 1.0, 1.0))
            .unwrap();
        let mut batch = Batch::default();
        while let Ok(e) = rx.try_recv() {
            batch.add(e);
        }
        assert!(!batch.canvas.contains_key(&p));
        assert!(typed_canvas_delta(&engine, &mut mirror, &batch.canvas)
            .unwrap()
            .is_none());
        // A deleted element of the open project goes out as deleted.
        let gone = engine.open_project(p).unwrap().canvas.elements[0].id;
        engine.delete_element(p, gone).unwrap();
        let mut batch = Batch::default();
        while let Ok(e) = rx.try_recv() {
            batch.add(e);
        }
        let d = typed_canvas_delta(&engine, &mut mirror, &batch.canvas)
            .unwrap()
            .unwrap();
        assert_eq!(d.deleted, [gone.to_string()]);
        assert!(d.upserted.is_empty() && d.can_undo);
    }
}
