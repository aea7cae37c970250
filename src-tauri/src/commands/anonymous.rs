//! The free first image before sign-in (S6), forwarded to the engine
//! (`iskra_engine::sync::anonymous`), which owns the flow: the placeholder on the local canvas,
//! the request without credentials, reading the result until it has ended, the image put in
//! the placeholder's place. The shapes, in camelCase JSON:
//!
//! - `free_generate { projectId, request: { prompt, imageSize: string|null, at: { x, y } } }`
//!   → answered once the job has ended: `{ status: "completed", element: Element, assetId }`
//!   | `{ status: "refused", error: GenerationFailure }` (429 `ANONYMOUS_QUOTA_EXCEEDED` with
//!   `limit: { window, limit, used, remaining, resetsAt, tier, upgradeUrl }` once the day's
//!   image is used) | `{ status: "failed", error: GenerationFailure }`. The placeholder and the
//!   image reach the UI as `canvas-changed` while the command runs.
//!
//! Signed in, the command answers `{kind: "invalidInput"}`: generation runs on the account
//! (`generate`). A free generation a restart interrupted is picked up at start
//! ([`resume`]).

use super::canvas::Placement;
use super::Shared;
use crate::error::{parse_id, CmdResult, CommandError};
use iskra_engine::generation::{GenerateRequest, Point};
use iskra_engine::sync::anonymous::{free_generation, resume_free_generation, FreeOutcome};
use serde::Deserialize;
use tauri::State;

/// `free_generate`'s `request`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeArgs {
    pub prompt: String,
    pub image_size: Option<String>,
    pub at: Placement,
}

#[tauri::command]
pub async fn free_generate(
    state: State<'_, Shared>,
    project_id: String,
    request: FreeArgs,
) -> CmdResult<FreeOutcome> {
    let project = parse_id("project", &project_id)?;
    if state.signed_in() {
        return Err(CommandError::invalid(
            "You are signed in: generate on your account",
        ));
    }
    let mut req = GenerateRequest::text_to_image(request.prompt);
    req.image_size = request.image_size;
    req.at = Some(Point {
        x: request.at.x,
        y: request.at.y,
    });
    let state = Shared::clone(&state);
    let outcome = free_generation(&state.engine, &state.config.server, project, &req).await;
    state.wake.notify_one();
    Ok(outcome?)
}

/// Finishes the free generation a restart interrupted, if any (in the background at start).
pub async fn resume(state: Shared) {
    match resume_free_generation(&state.engine, &state.config.server).await {
        Ok(Some(outcome)) => tracing::info!(?outcome, "free image picked up after a restart"),
        Ok(None) => {}
        Err(e) => tracing::info!(error = %e, "free image not picked up; tried again at next start"),
    }
    state.wake.notify_one();
}
