//! The server side of generations (D7): sending the outbox's `generation.submit` and
//! `generation.cancel` operations, refreshing generations the server may still change, and
//! the model catalogue.
//!
//! A submit carries its op id as `Idempotency-Key`, so a repeat after a lost answer gets the
//! same generation: the request runs once. Its source image is uploaded first when only this
//! device has it. A `429` refuses this request — the window may not reset for hours — so the
//! operation is kept as rejected and the generation fails with the window's numbers, instead
//! of backing off like other operations; `5xx` and network failures are retried as usual.
//! A `402` (not enough credits) is refused the same way, keeping the shortfall's numbers.

use super::uploads::upload;
use super::{SyncClient, SyncError};
use crate::generation::LocalGeneration;
use crate::store::outbox::{OpPayload, OutboxOp};
use crate::store::settings;
use iskra_protocol::ModelInfo;
use uuid::Uuid;

impl SyncClient {
    /// Fetches the model catalogue and keeps it for offline use.
    pub async fn refresh_models(&self) -> Result<Vec<ModelInfo>, SyncError> {
        let list = self.api.models().await?.items;
        let keep = list.clone();
        self.on_engine(move |e| e.set_models(&keep)).await?;
        Ok(list)
    }

    /// The model catalogue: fresh from the server, else (unreachable, failing) the cached one.
    pub async fn models(&self) -> Result<Vec<ModelInfo>, SyncError> {
        match self.refresh_models().await {
            Ok(list) => Ok(list),
            Err(e) if e.is_retryable() => {
                let cached = self.on_engine(|e| e.models()).await?;
                if cached.is_empty() {
                    Err(e)
                } else {
                    Ok(cached)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Fetches the catalogue when it was never fetched (a start while offline); a failure is
    /// only logged — the next pass tries again. A server without the endpoint has no models.
    pub(super) async fn models_if_missing(&self) -> Result<(), SyncError> {
        let known = self.on_engine(|e| e.setting(settings::MODELS)).await?;
        if known.is_some() {
            return Ok(());
        }
        match self.refresh_models().await {
            Ok(_) => {}
            Err(SyncError::Rejected { status: 404, .. }) => {
                self.on_engine(|e| e.set_models(&[])).await?;
            }
            Err(e) => tracing::info!(error = %e, "model catalogue not fetched"),
        }
        Ok(())
    }

    /// Sends one generation operation and records the answer; the operation leaves the
    /// outbox with it.
    pub(super) async fn send_generation_op(&self, op: &OutboxOp) -> Result<(), SyncError> {
        let id = op.op_id;
        match &op.payload {
            OpPayload::GenerationSubmit { request } => {
                if let Some(sha) = &request.image_asset_id {
                    let local = sha.clone();
                    let record = self.on_engine(move |e| e.asset(&local)).await?;
                    if record.is_some_and(|r| !r.uploaded) {
                        upload(self, &self.api, sha).await?;
                    }
                }
                let g = match self.api.create_generation(request, id).await {
                    Err(SyncError::RateLimited { error, .. }) => {
                        return Err(SyncError::Rejected { status: 429, error })
                    }
                    Err(e @ SyncError::Rejected { status: 402, .. }) => {
                        // Short of credits: the balance shown is brought up to date.
                        self.refresh_credits_quietly().await?;
                        return Err(e);
                    }
                    other => other?,
                };
                self.on_engine(move |e| e.generation_accepted(id, &g)).await
            }
            OpPayload::GenerationCancel { server_id } => {
                let g = match self.api.cancel_generation(*server_id).await {
                    Ok(g) => Some(g),
                    // Ended before the cancel arrived: record how it ended.
                    Err(SyncError::Rejected { status: 409, .. }) => {
                        Some(self.api.generation(*server_id).await?)
                    }
                    Err(SyncError::Rejected { status: 404, .. }) => None,
                    Err(e) => return Err(e),
                };
                self.on_engine(move |e| {
                    if let Some(g) = &g {
                        e.apply_server_generation(g)?;
                    }
                    e.ops_done(&[id])
                })
                .await
            }
            other => Err(SyncError::Protocol(format!(
                "{} is not a generation operation",
                other.kind()
            ))),
        }
    }

    /// Asks the server about every generation it may still change (a pull; events usually
    /// come first). Returns how many changed here.
    pub async fn refresh_generations(&self) -> Result<usize, SyncError> {
        let active = self.on_engine(|e| e.active_generations()).await?;
        let mut changed = 0;
        for g in active {
            let Some(server_id) = g.server_id else {
                continue;
            };
            match self.api.generation(server_id).await {
                Ok(fresh) => {
                    if self
                        .on_engine(move |e| e.apply_server_generation(&fresh))
                        .await?
                    {
                        changed += 1;
                    }
                }
                Err(SyncError::Rejected { status: 404, .. }) => {
                    tracing::warn!(%server_id, "generation no longer on the server");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(changed)
    }

    /// Asks the server about one generation now (local or server id) and records the answer;
    /// a generation the server does not have yet (still in the outbox) is answered as stored.
    pub async fn refresh_generation(&self, id: Uuid) -> Result<LocalGeneration, SyncError> {
        let local = self.on_engine(move |e| e.generation(id)).await?;
        let Some(server_id) = local.server_id else {
            return Ok(local);
        };
        let fresh = self.api.generation(server_id).await?;
        self.on_engine(move |e| {
            e.apply_server_generation(&fresh)?;
            e.generation(id)
        })
        .await
    }
}
