//! Engine state → Tauri events. One forwarder task follows the engine's change feed
//! (`Engine::changes`: every write — local edits, other devices' changes merged by sync, hot
//! folder imports) and compares what it last reported with the engine's state, emitting what
//! changed: `projects-changed`, `assets-changed`, `account-changed` (also when the engine learnt
//! a new plan or billing status), `credits-changed` with the balance the engine keeps,
//! `canvas-changed` with the delta of the open project against the canvas mirror, and
//! `generation-changed` with each
//! generation written since the last pass (the engine answers exactly those, by revision). `sync-status` is also compared on
//! a [`POLL_INTERVAL`] tick (the autosave text is a function of time and connectivity).
//! `open-project` comes from deep links and second instances (see `lib.rs`).

use crate::commands::account::{reload_account, Account};
use crate::commands::canvas::CanvasDelta;
use crate::commands::sync::build_status;
use crate::commands::Shared;
use crate::error::CmdResult;
use crate::state::AppState;
use std::collections::HashSet;
use std::time::Duration;
use tauri::{AppHandle, Emitter};

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

/// Longest time between two sync-status comparisons when nothing changes.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

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

/// One comparison; returns the events to emit as (name, JSON payload). `stored` says the
/// store changed since the last pass: only then are projects, assets and the canvas read.
fn compare(
    s: &AppState,
    seen: &mut Seen,
    stored: bool,
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
    if stored {
        reload_account(s);
    }
    let account = serde_json::to_value(s.account()).unwrap_or_default();
    if changed(&mut seen.account, account.to_string()) {
        out.push((EVENT_ACCOUNT_CHANGED, account));
    }
    if stored || seen.credits.is_none() {
        let credits = match s.account() {
            Account::SignedOut => None,
            Account::SignedIn { .. } => s.engine.cached_credits()?,
        };
        let credits = serde_json::to_value(credits).unwrap_or_default();
        if changed(&mut seen.credits, credits.to_string()) {
            out.push((EVENT_CREDITS_CHANGED, credits));
        }
    }
    if !stored && seen.projects.is_some() {
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
    Ok(out)
}

/// The open project's changes that the mirror does not have yet.
fn canvas_delta(s: &AppState) -> CmdResult<Option<CanvasDelta>> {
    let mut mirror = s.canvas();
    let Some(project) = mirror.project else {
        return Ok(None);
    };
    let Ok(listed) = s.engine.project(project) else {
        // Deleted (here or on another device): `projects-changed` tells the UI.
        *mirror = Default::default();
        return Ok(None);
    };
    if listed.updated_at == mirror.updated_at {
        return Ok(None);
    }
    let open = s.engine.open_project(project)?;
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
    let mut changes = state.engine.changes();
    let mut seen = Seen::default();
    let mut last_revision = None;
    loop {
        // `changed()` below marks the value seen, so compare numbers, not `has_changed`.
        let revision = *changes.borrow_and_update();
        let stored = last_revision != Some(revision);
        last_revision = Some(revision);
        let s = std::sync::Arc::clone(&state);
        let result = tauri::async_runtime::spawn_blocking(move || {
            let out = compare(&s, &mut seen, stored);
            (seen, out)
        })
        .await;
        match result {
            Ok((back, events)) => {
                seen = back;
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
        tokio::select! {
            _ = changes.changed() => {}
            _ = state.wake.notified() => {}
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = closing.changed() => return,
        }
    }
}
