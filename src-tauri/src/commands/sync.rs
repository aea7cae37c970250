//! Sync status and the outbox (D3, D4): the autosave indicator (derived by the engine), the online
//! flag, pending count and the rejected operations kept for the user (retry or discard). Also
//! the sync supervisor: one background task that runs the engine's sync client while a session
//! exists and restarts it on sign-in and sign-out.

use super::{blocking, Shared};
use crate::error::{parse_id, CmdResult};
use crate::state::AppState;
use iskra_engine::store::outbox::{OpError, OpPayload, OpState, OutboxOp};
use iskra_protocol::{ErrorCode, ErrorDetail};
use serde::Serialize;
use std::collections::HashMap;
use tauri::State;

pub use iskra_engine::sync::AutosaveState;

/// A permanently rejected operation (D4).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedOperation {
    pub op_id: String,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub summary: String,
    pub error: ErrorDetail,
    pub rejected_at: String,
}

/// `sync_status` and the `sync-status` event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub autosave: AutosaveState,
    pub online: bool,
    pub pending: u64,
    pub rejected: Vec<RejectedOperation>,
}

/// What an operation did, for people.
fn summary(op: &OutboxOp) -> String {
    let short = |sha: &str| sha.chars().take(8).collect::<String>();
    match &op.payload {
        OpPayload::ProjectCreate { name } => format!("Create project “{name}”"),
        OpPayload::ProjectRename { name } => format!("Rename project to “{name}”"),
        OpPayload::ProjectDelete => "Delete project".into(),
        OpPayload::Change { change } if change.element_id == iskra_protocol::VIEWPORT_ID => {
            "Move the view".into()
        }
        OpPayload::Change { change } => match &change.set {
            None => "Delete an element".into(),
            Some(set) if set.contains_key("kind") => "Add an element".into(),
            Some(set) if set.keys().all(|k| k == "x" || k == "y") => "Move an element".into(),
            Some(set) if set.contains_key("z") => "Reorder an element".into(),
            Some(_) => "Change an element".into(),
        },
        OpPayload::AssetUpload { sha256 } => format!("Upload asset {}", short(sha256)),
        OpPayload::AssetDelete { sha256 } => format!("Delete asset {}", short(sha256)),
        OpPayload::GenerationSubmit { request } => {
            let mut prompt: String = request.prompt.chars().take(40).collect();
            if request.prompt.chars().count() > 40 {
                prompt.push('…');
            }
            format!("Generate “{prompt}”")
        }
        OpPayload::GenerationCancel { .. } => "Cancel a generation".into(),
    }
}

/// The error body kept with the operation.
fn error_detail(e: Option<&OpError>) -> ErrorDetail {
    e.map_or_else(
        || ErrorDetail::new(ErrorCode::Internal, "refused by the server"),
        OpError::detail,
    )
}

/// Builds the status the UI shows.
pub fn build_status(s: &AppState) -> CmdResult<SyncStatus> {
    let signed_in = s.signed_in();
    let st = iskra_engine::sync::status(&s.engine, signed_in)?;
    let names: HashMap<_, _> = s
        .engine
        .list_projects()?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let rejected = s
        .engine
        .outbox()?
        .into_iter()
        .filter(|op| op.state == OpState::Rejected)
        .map(|op| RejectedOperation {
            op_id: op.op_id.to_string(),
            project_id: op.project_id.map(|p| p.to_string()),
            project_name: op.project_id.and_then(|p| names.get(&p).cloned()),
            summary: summary(&op),
            error: error_detail(op.last_error.as_ref()),
            // The outbox keeps no rejection time yet: the operation's own time stands in.
            rejected_at: op.created_at.clone(),
        })
        .collect();
    Ok(SyncStatus {
        autosave: st.autosave,
        online: !signed_in || st.online != Some(false),
        pending: st.pending,
        rejected,
    })
}

#[tauri::command]
pub async fn sync_status(state: State<'_, Shared>) -> CmdResult<SyncStatus> {
    blocking(&state, build_status).await
}

#[tauri::command]
pub async fn retry_rejected(state: State<'_, Shared>, op_id: String) -> CmdResult<()> {
    let op = parse_id("operation", &op_id)?;
    blocking(&state, move |s| Ok(s.engine.outbox_retry(op)?)).await
}

#[tauri::command]
pub async fn discard_rejected(state: State<'_, Shared>, op_id: String) -> CmdResult<()> {
    let op = parse_id("operation", &op_id)?;
    blocking(&state, move |s| Ok(s.engine.outbox_discard(op)?)).await
}

/// Runs the engine's sync client while signed in; restarts it when the session changes;
/// returns when the app closes.
pub async fn supervise(state: Shared) {
    let mut epoch = state.session_epoch.subscribe();
    let mut closing = state.closing.subscribe();
    loop {
        if *closing.borrow() {
            return;
        }
        if state.signed_in() {
            refresh_account_quietly(&state).await;
            match state.sync_client() {
                Ok(client) => {
                    tokio::select! {
                        r = client.watch(std::future::pending()) => match r {
                            Ok(()) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "sync stopped; waiting for a new session");
                                let _ = state.engine.record_sync_result(Some(&e.to_string()));
                            }
                        },
                        _ = epoch.changed() => continue,
                        _ = closing.changed() => return,
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot start sync"),
            }
        }
        tokio::select! {
            _ = epoch.changed() => {}
            _ = closing.changed() => return,
        }
    }
}

/// Brings the cached email and tier up to date at start (offline: keeps the cache).
async fn refresh_account_quietly(state: &AppState) {
    let Ok(token) = state.session.access_token().await else {
        return;
    };
    if let Err(e) = super::account::refresh_account(state, &token).await {
        tracing::info!(error = %e, "account not refreshed (offline?)");
    }
}
