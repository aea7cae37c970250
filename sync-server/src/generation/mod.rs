//! The generation service (S7): accepting a request (validation, ownership, storage quota, the
//! S6 windows, `Idempotency-Key`), reading and canceling jobs, and the API view of a job.
//!
//! A request becomes a row in the durable job table (`store::generations`) and nothing else:
//! the workers in [`worker`] take it from there, so a restart or a second replica changes
//! nothing about what happens to it. Every change of a job is announced as
//! `generation.updated` through the event hub (and Redis across replicas).

pub mod canvas;
pub mod inputs;
pub mod outputs;
pub mod runtime;
pub mod worker;

pub use runtime::Runtime;

use crate::config::generation::ModelConfig;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, KeyClaim};
use crate::state::AppState;
use crate::store::api_keys::KeySubmission;
use crate::store::generations::{GenQuery, GenRow, NewJob, Phase};
use crate::store::users::UserRow;
use axum::http::HeaderMap;
use iskra_protocol::events::ServerEvent;
use iskra_protocol::{
    AssetType, Generation, GenerationCredits, GenerationError, GenerationKind, GenerationParams,
    GenerationStatus, NewGeneration,
};
use uuid::Uuid;

/// Queued jobs of a user whose positions are announced when the line moves.
const ANNOUNCED_POSITIONS: i64 = 20;

/// The API status of a worker phase.
pub fn status_of(phase: Phase) -> GenerationStatus {
    match phase {
        // fal does not have a job being submitted yet (and may refuse it for now).
        Phase::Queued | Phase::Submitting => GenerationStatus::Queued,
        Phase::Submitted | Phase::Finishing => GenerationStatus::Running,
        Phase::Completed => GenerationStatus::Completed,
        Phase::Failed => GenerationStatus::Failed,
        Phase::Canceled => GenerationStatus::Canceled,
    }
}

/// The phases an API status covers (for list filters).
pub fn phases_of(status: GenerationStatus) -> Vec<&'static str> {
    match status {
        GenerationStatus::Queued => vec!["queued", "submitting"],
        GenerationStatus::Running => vec!["submitted", "finishing"],
        GenerationStatus::Completed => vec!["completed"],
        GenerationStatus::Failed => vec!["failed"],
        GenerationStatus::Canceled => vec!["canceled"],
    }
}

/// The catalogue model a request names (or its kind's default), with its parameters checked
/// against that model: the rules submit and the price estimate share.
pub fn check_model<'a>(
    state: &'a AppState,
    kind: GenerationKind,
    model: Option<&str>,
    params: &GenerationParams,
) -> ApiResult<&'a ModelConfig> {
    params
        .validate()
        .map_err(|(field, msg)| ApiError::field(field, msg))?;
    let model = state.config.generation.model(kind, model).ok_or_else(|| {
        ApiError::field(
            "model",
            format!("is not a {} model of GET /v1/models", kind.as_str()),
        )
    })?;
    if let Some(size) = &params.image_size {
        if !model.sizes.iter().any(|s| s == size) {
            return Err(ApiError::field(
                "params.imageSize",
                format!("{} takes one of: {}", model.id, model.sizes.join(", ")),
            ));
        }
    }
    let outputs = if kind.makes_video() {
        1
    } else {
        params.num_images.unwrap_or(1)
    };
    if outputs > model.max_images {
        return Err(ApiError::field(
            "params.numImages",
            format!("{} makes at most {} outputs", model.id, model.max_images),
        ));
    }
    Ok(model)
}

/// The credits a request would hold: its price as asked.
pub fn price(
    model: &ModelConfig,
    kind: GenerationKind,
    params: &GenerationParams,
    state: &AppState,
) -> i64 {
    crate::credits::estimate(
        &state.config.credits,
        kind,
        &model.id,
        model.sizes.first().map(String::as_str),
        params,
    )
}

/// Checks a request against the catalogue and the caller's data; returns the job to insert
/// and the credits it holds.
async fn admit(state: &AppState, user: &UserRow, req: &NewGeneration) -> ApiResult<(NewJob, i64)> {
    req.validate()
        .map_err(|(field, msg)| ApiError::field(field, msg))?;
    let params = req.params.clone().unwrap_or_default();
    let model = check_model(state, req.kind, req.model.as_deref(), &params)?;
    let estimate = price(model, req.kind, &params, state);
    if let Some(project) = req.project_id {
        state
            .store
            .project(&user.id, project)
            .await?
            .ok_or(ApiError::NotFound("project"))?;
    }
    if let Some(asset) = &req.image_asset_id {
        let row = state
            .store
            .asset(&user.id, asset)
            .await?
            .ok_or(ApiError::NotFound("asset"))?;
        if row.kind() != AssetType::Image {
            return Err(ApiError::field(
                "imageAssetId",
                "must be an image (this asset is a video)",
            ));
        }
    }
    let job = NewJob {
        id: Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        kind: req.kind.as_str().to_owned(),
        model: model.id.clone(),
        prompt: req.prompt.clone(),
        params: serde_json::to_string(&params).map_err(ApiError::internal)?,
        image_asset_id: req.image_asset_id.clone(),
        project_id: req.project_id.map(|p| p.to_string()),
        element_id: req.element_id.map(|e| e.to_string()),
    };
    Ok((job, estimate))
}

/// Accepts a request: admission checks, storage quota, the S6 windows of the caller's tier
/// (all must pass, counted atomically), then the queued job holding its credits, and the
/// answer of its claimed `Idempotency-Key` (`key`) and its link to the API key that submitted
/// it (`api_key`, for the key's usage), all in one transaction. Returns the job.
pub async fn submit(
    state: &AppState,
    user: &UserRow,
    req: &NewGeneration,
    idempotency_key: Option<&str>,
    api_key: Option<KeySubmission<'_>>,
) -> ApiResult<GenRow> {
    if state.gen.fal.is_none() {
        return Err(ApiError::Unavailable(
            "generation is not available on this server (no fal key is configured)".into(),
        ));
    }
    let (job, estimate) = admit(state, user, req).await?;
    let limits = state.config.tiers.get(user.tier());
    let usage = state.store.storage_usage(&user.id, limits).await?;
    if usage.over_limit {
        return Err(ApiError::StorageQuota(Box::new(usage)));
    }
    let windows = state.config.rate_limits.generation(user.tier());
    let (window_key, rules) = if req.kind.makes_video() {
        (crate::quota::video_key(&user.id), windows.video.rules())
    } else {
        (
            crate::quota::standard_key(&user.id),
            windows.standard.rules(),
        )
    };
    crate::extract::check_limit(state, &window_key, &rules, Some(user.tier().as_str())).await?;
    crate::credits::refresh_period(&state.store, &state.config.credits, user).await?;
    let row = state
        .store
        .insert_generation_holding(&job, estimate, idempotency_key, api_key)
        .await?
        .map_err(|acc| ApiError::InsufficientCredits {
            required: estimate,
            available: acc.available(),
        })?;
    metrics::counter!("iskra_generations_total", "event" => "submitted").increment(1);
    announce(state, &row).await;
    crate::credits::announce(state, &user.id).await;
    state.gen.wake();
    Ok(row)
}

/// Submits under the request's `Idempotency-Key` (`route` and the request make its
/// fingerprint): without a key as [`submit`]; a new key's answer is stored with the job and
/// the key released when the request is refused; a repeat answers the first job (`true`: a
/// replay); the same key with another request is 409 `CONFLICT`.
pub async fn submit_once(
    state: &AppState,
    user: &UserRow,
    headers: &HeaderMap,
    route: &str,
    req: &NewGeneration,
    api_key: Option<KeySubmission<'_>>,
) -> ApiResult<(GenRow, bool)> {
    let fingerprint = serde_json::to_vec(req).unwrap_or_default();
    let claim =
        idempotency::claim(state, &user.id, headers, &[route.as_bytes(), &fingerprint]).await?;
    match claim {
        KeyClaim::NoKey => Ok((submit(state, user, req, None, api_key).await?, false)),
        KeyClaim::Fresh(key) => match submit(state, user, req, Some(&key), api_key).await {
            Ok(row) => Ok((row, false)),
            Err(e) => {
                idempotency::release(state, &user.id, &key).await?;
                Err(e)
            }
        },
        KeyClaim::Done { body, .. } => {
            let id = body["generationId"].as_str().unwrap_or_default();
            let row = state
                .store
                .generation(&user.id, id)
                .await?
                .ok_or(ApiError::NotFound("generation"))?;
            Ok((row, true))
        }
    }
}

/// Cancels a job that has not ended: a queued one at once; a running one also at fal (its
/// cancel URL). `Conflict` once it has ended.
pub async fn cancel(state: &AppState, user: &str, id: Uuid) -> ApiResult<GenRow> {
    let id = id.to_string();
    state
        .store
        .generation(user, &id)
        .await?
        .ok_or(ApiError::NotFound("generation"))?;
    let before = state
        .store
        .finish_unheld(&id, Phase::Canceled, ("CANCELED", "canceled by the user"))
        .await?
        .ok_or_else(|| ApiError::Conflict("the generation has already ended".into()))?;
    if let (Some(url), Some(fal)) = (&before.cancel_url, &state.gen.fal) {
        if let Err(e) = fal.cancel(url).await {
            tracing::warn!(generation = %id, error = %e, "fal did not confirm the cancel");
        }
    }
    metrics::counter!("iskra_generations_total", "event" => "canceled").increment(1);
    crate::credits::announce(state, user).await;
    let row = state
        .store
        .generation_by_id(&id)
        .await?
        .ok_or(ApiError::NotFound("generation"))?;
    announce(state, &row).await;
    if before.phase() == Phase::Queued {
        announce_line(state, &before.user_id).await;
    } else {
        state.gen.wake();
    }
    Ok(row)
}

/// One page of a user's jobs, newest first.
pub async fn list(state: &AppState, user: &str, q: &GenQuery) -> ApiResult<Vec<GenRow>> {
    Ok(state.store.list_generations(user, q).await?)
}

/// The API view of a job: outputs as assets with fresh signed URLs, the queue position.
pub async fn to_api(state: &AppState, row: &GenRow) -> ApiResult<Generation> {
    let own_line = match row.phase() {
        Phase::Queued => Some(state.store.queue_position(row).await?),
        _ => None,
    };
    view(state, row, own_line).await
}

/// The API view of a job whose place in Iskra's line (when queued) is known.
async fn view(state: &AppState, row: &GenRow, own_line: Option<i64>) -> ApiResult<Generation> {
    let phase = row.phase();
    let queue_position = match phase {
        Phase::Queued => own_line,
        Phase::Submitting => Some(0),
        Phase::Submitted => row.fal_position,
        _ => None,
    };
    let mut outputs = Vec::new();
    for sha in row.output_ids() {
        if let Some(asset) = state.store.asset(&row.user_id, &sha).await? {
            outputs.push(crate::routes::assets::to_api(state, &row.user_id, &asset));
        }
    }
    let params: GenerationParams = serde_json::from_str(&row.params).unwrap_or_default();
    let kind: GenerationKind = row.kind.parse().unwrap_or(GenerationKind::TextToImage);
    let uuid = |s: &Option<String>| s.as_deref().and_then(|s| Uuid::parse_str(s).ok());
    Ok(Generation {
        id: Uuid::parse_str(&row.id).unwrap_or_default(),
        kind,
        status: status_of(phase),
        prompt: row.prompt.clone(),
        model: row.model.clone(),
        params,
        image_asset_id: row.image_asset_id.clone(),
        project_id: uuid(&row.project_id),
        element_id: uuid(&row.element_id),
        created_at: crate::store::rfc3339(row.created_at),
        started_at: row.started_at.map(crate::store::rfc3339),
        completed_at: row.completed_at.map(crate::store::rfc3339),
        queue_position,
        error: match (&row.error_code, &row.error_message) {
            (Some(code), Some(message)) if phase != Phase::Completed => Some(GenerationError {
                code: code.clone(),
                message: message.clone(),
            }),
            _ => None,
        },
        outputs,
        credits: row.credits_estimated.map(|estimated| GenerationCredits {
            estimated,
            charged: row.credits_charged,
        }),
    })
}

/// Publishes `generation.updated` for a job (errors are logged: an event is best effort, the
/// job's state is in the database either way).
pub async fn announce(state: &AppState, row: &GenRow) {
    publish(state, row, to_api(state, row).await);
}

fn publish(state: &AppState, row: &GenRow, view: ApiResult<Generation>) {
    match view {
        Ok(generation) => state.events.publish(
            &row.user_id,
            ServerEvent::GenerationUpdated {
                generation: Box::new(generation),
            },
        ),
        Err(e) => {
            tracing::warn!(generation = %row.id, error = %e, "generation update not announced")
        }
    }
}

/// Announces the new positions of a user's first queued jobs after the line moved. They come
/// oldest first, so each one's position is its index: one query for the whole line.
pub async fn announce_line(state: &AppState, user: &str) {
    match state.store.queued_of_user(user, ANNOUNCED_POSITIONS).await {
        Ok(rows) => {
            for (position, row) in (0_i64..).zip(&rows) {
                publish(state, row, view(state, row, Some(position)).await);
            }
        }
        Err(e) => tracing::warn!(error = %e, "queue positions not announced"),
    }
}
