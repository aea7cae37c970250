//! Generation commands (D7), forwarded to the engine, which owns the domain (validation, the
//! placeholder, the outbox, cancel and retry). The shapes, in camelCase JSON:
//!
//! - `list_models {}` → `ModelInfo[]`: the catalogue the engine cached (fetched from the
//!   server when signed in and nothing is cached yet).
//! - `generate { projectId, request }` → `{ generation: LocalGeneration, delta: CanvasDelta }`,
//!   `request` being `{ kind, model: string|null, prompt, imageSize: string|null,
//!   numImages: number|null, seed: number|null, durationS: number|null,
//!   sourceElementId: string|null, at: { x, y } }` (`at`: the world point of the placeholder's
//!   centre; the delta adds the placeholder).
//! - `list_generations { projectId: string|null }` → `LocalGeneration[]`, newest first.
//! - `cancel_generation { id }` → `LocalGeneration`; `retry_generation { id }` →
//!   `LocalGeneration` (same id, a new request for the same placeholder).
//! - event `generation-changed` → `LocalGeneration` (`crate::events`).
//!
//! `LocalGeneration`: `{ id, serverId: string|null, projectId, elementId, kind, prompt, model,
//! params: GenerationParams, status: "waiting"|"queued"|"running"|"completed"|"failed"|
//! "canceled", queuePosition: number|null, error: { code, message, limit: { window, limit,
//! used, remaining, resetsAt, tier: string|null, upgradeUrl: string|null }|null,
//! storage: StorageQuota|null, credits: { required, available }|null }|null, outputs: string[]
//! (asset ids), createdAt }` (`credits`: a refusal for want of credits, 402).
//!
//! Errors are the usual `{kind, message}`; signed out, `generate` and `retry_generation` answer
//! `{kind: "auth", message: "Sign in to generate: generation runs on your Iskra account"}`.

use super::canvas::{delta, CanvasDelta, Placement};
use super::{blocking, Shared};
use crate::error::{parse_id, CmdResult, CommandError};
use iskra_engine::generation::{GenerateRequest, LocalGeneration, Point, SIGN_IN_TO_GENERATE};
use iskra_protocol::{GenerationKind, ModelInfo};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tauri::State;

/// How long `list_models` waits for the server when nothing is cached.
const MODELS_TIMEOUT: Duration = Duration::from_secs(5);

/// `generate`'s `request`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateArgs {
    pub kind: GenerationKind,
    pub model: Option<String>,
    pub prompt: String,
    pub image_size: Option<String>,
    pub num_images: Option<u32>,
    pub seed: Option<u64>,
    pub duration_s: Option<u32>,
    pub source_element_id: Option<String>,
    pub at: Placement,
}

/// `generate`'s answer.
#[derive(Debug, Serialize)]
pub struct Generated {
    pub generation: LocalGeneration,
    pub delta: CanvasDelta,
}

fn require_session(signed_in: bool) -> CmdResult<()> {
    if signed_in {
        Ok(())
    } else {
        Err(CommandError::Auth(SIGN_IN_TO_GENERATE.into()))
    }
}

#[tauri::command]
pub async fn list_models(state: State<'_, Shared>) -> CmdResult<Vec<ModelInfo>> {
    let cached = blocking(&state, |s| Ok(s.engine.models()?)).await?;
    if !cached.is_empty() || !state.signed_in() {
        return Ok(cached);
    }
    let client = state.sync_client()?;
    match tokio::time::timeout(MODELS_TIMEOUT, client.models()).await {
        Ok(Ok(models)) => Ok(models),
        Ok(Err(e)) => {
            tracing::info!(error = %e, "model catalogue not fetched");
            Ok(cached)
        }
        Err(_) => Ok(cached),
    }
}

#[tauri::command]
pub async fn generate(
    state: State<'_, Shared>,
    project_id: String,
    request: GenerateArgs,
) -> CmdResult<Generated> {
    let project = parse_id("project", &project_id)?;
    let source = match &request.source_element_id {
        Some(id) => Some(parse_id("element", id)?),
        None => None,
    };
    require_session(state.signed_in())?;
    let req = GenerateRequest {
        kind: request.kind,
        model: request.model,
        prompt: request.prompt,
        image_size: request.image_size,
        num_images: request.num_images,
        seed: request.seed,
        duration_s: request.duration_s,
        source_element_id: source,
        at: Some(Point {
            x: request.at.x,
            y: request.at.y,
        }),
    };
    blocking(&state, move |s| {
        let mut mirror = s.canvas();
        let made = s.engine.generate(project, &req)?;
        let delta = delta(s, &mut mirror, project, [made.placeholder.id], None)?;
        Ok(Generated {
            generation: made.generation,
            delta,
        })
    })
    .await
}

#[tauri::command]
pub async fn list_generations(
    state: State<'_, Shared>,
    project_id: Option<String>,
) -> CmdResult<Vec<LocalGeneration>> {
    let project = match &project_id {
        Some(id) => Some(parse_id("project", id)?),
        None => None,
    };
    blocking(&state, move |s| Ok(s.engine.generations(project)?)).await
}

#[tauri::command]
pub async fn cancel_generation(state: State<'_, Shared>, id: String) -> CmdResult<LocalGeneration> {
    let id = parse_id("generation", &id)?;
    blocking(&state, move |s| Ok(s.engine.cancel_generation(id)?)).await
}

#[tauri::command]
pub async fn retry_generation(state: State<'_, Shared>, id: String) -> CmdResult<LocalGeneration> {
    let id = parse_id("generation", &id)?;
    require_session(state.signed_in())?;
    blocking(&state, move |s| Ok(s.engine.retry_generation(id)?)).await
}
