//! Deleting an account (`user.deleted`): everything the user owns — projects with their canvas
//! and change log, sync ops, assets and their blobs, generations (canceled at fal while they
//! run), idempotency records, credits and billing rows — such that a crash at any point is
//! finished by running again.
//!
//! The steps, each of which can be repeated without harm:
//! 1. A `user_deletions` row is committed before anything is deleted (in the same transaction
//!    as the webhook's delivery record). From then on the `Auth` extractor refuses the id
//!    (401), the user's event streams end on every replica (nothing else is published to
//!    them), and `user.created` / `user.updated` for the id change nothing.
//! 2. The user's running and waiting generations are canceled (fal is asked to cancel them
//!    too, best effort), without events.
//! 3. Assets, in batches: every blob (and its share preview rendition) is deleted before the
//!    row that names it (share links go with the row), so a crash
//!    leaves at worst rows whose blobs are gone (the user is refused), never a blob without a
//!    row.
//! 4. Projects (their elements and change log cascade) and ops, in batches; then one
//!    transaction deletes the user row, from which every other per-user table cascades
//!    (generations, credits, billing), the idempotency records and fal's recorded webhooks of
//!    the user's jobs.
//! 5. The user's whole storage prefix is swept; the deletion becomes `settling`.
//! 6. `deletion_settle_secs` later, steps 4–5 run once more and the deletion is `done`. The
//!    record stays: the id remains refused and a late event cannot bring the data back.
//!
//! The phase moves on only after its steps have completed. A process works on a deletion under
//! a lease it renews as it goes; deletions whose holder died are taken up again at start-up
//! and every `deletion_resume_secs` by any process (see [`spawn`]).
//!
//! Other users' blobs. Blob keys are per user (`users/<hex id>/<sha256>`, see
//! `blobs::asset_key`): two users who uploaded the same bytes have two blobs. Deleting this
//! user's keys or prefix therefore never removes a blob another user still references, and
//! another user uploading the same content while the deletion runs writes their own key,
//! untouched by it and not waiting for it.
//!
//! Work already under way when step 1 committed (an upload authenticated just before it, a
//! generation output being stored) may still write. `services::assets` writes the blob first
//! and then the row, which needs the user row: a row written before step 4 goes with the
//! cascade and its blob, written earlier still, with the sweep of step 5; a row insert after
//! step 4 fails, and `services::assets` then deletes the blob it wrote. What remains — a writer
//! that died between its blob and that clean-up, or a request authenticated before step 1 that
//! re-creates the user row after step 4 — is removed by step 6.

use super::store::{DeletionPhase, OwnedTable, BATCH};
use crate::blobs::{asset_key, user_prefix, BlobError};
use crate::state::AppState;
use crate::store::generations::Phase;
use crate::store::now_ms;
use std::time::{Duration, Instant};

/// Deletions taken up per pass of the resumer.
const RESUME_BATCH: i64 = 100;
/// How long processed Clerk deliveries are remembered (Svix retries for about a day).
const DELIVERY_MEMORY_MS: i64 = 7 * 24 * 3600 * 1000;

/// Why a deletion stopped before its phase was done (it is resumed later).
#[derive(Debug, thiserror::Error)]
pub enum DeletionError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("storage: {0}")]
    Storage(#[from] BlobError),
    #[error("another process took the deletion over")]
    LeaseLost,
    #[error("the server is shutting down")]
    Stopped,
}

/// This process's claim on one deletion, renewed as the steps go.
struct Claim<'a> {
    state: &'a AppState,
    user: &'a str,
    renewed: Instant,
}

impl Claim<'_> {
    fn lease(&self) -> Duration {
        Duration::from_secs(self.state.config.accounts.deletion_lease_secs)
    }

    fn owner(&self) -> &str {
        &self.state.gen.owner
    }

    /// Between two steps: the configured pause, a stop at shutdown, the lease renewed once a
    /// third of it has passed.
    async fn step(&mut self) -> Result<(), DeletionError> {
        let pause = self.state.config.accounts.deletion_step_delay_ms;
        if pause > 0 {
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        if *self.state.shutdown.borrow() {
            return Err(DeletionError::Stopped);
        }
        if self.renewed.elapsed() >= self.lease() / 3 {
            let until = lease_until(self.state);
            if !self
                .state
                .store
                .renew_deletion(self.user, self.owner(), until)
                .await?
            {
                return Err(DeletionError::LeaseLost);
            }
            self.renewed = Instant::now();
        }
        Ok(())
    }

    async fn advance(&self, phase: DeletionPhase, due_at: i64) -> Result<(), DeletionError> {
        let moved = self
            .state
            .store
            .advance_deletion(self.user, self.owner(), phase, due_at)
            .await?;
        if moved {
            Ok(())
        } else {
            Err(DeletionError::LeaseLost)
        }
    }
}

fn lease_until(state: &AppState) -> i64 {
    now_ms() + state.config.accounts.deletion_lease_secs as i64 * 1_000
}

/// Works on `user`'s deletion if it is due and unclaimed: the phase it reached, or `None`
/// when there was nothing to do here (finished, held by another process, sweep not yet due).
pub async fn run(state: &AppState, user: &str) -> Result<Option<DeletionPhase>, DeletionError> {
    let Some(phase) = state
        .store
        .claim_deletion(user, &state.gen.owner, lease_until(state))
        .await?
    else {
        return Ok(None);
    };
    let mut claim = Claim {
        state,
        user,
        renewed: Instant::now(),
    };
    let reached = work(&mut claim, phase).await;
    if matches!(reached, Err(DeletionError::Stopped)) {
        // Leave it to the next process at once rather than when the lease runs out.
        let _ = state.store.renew_deletion(user, &state.gen.owner, 0).await;
    }
    reached.map(Some)
}

/// The steps of `phase` and the ones after it (see the module notes).
async fn work(claim: &mut Claim<'_>, phase: DeletionPhase) -> Result<DeletionPhase, DeletionError> {
    let (state, user) = (claim.state, claim.user);
    if phase == DeletionPhase::Deleting {
        delete_everything(claim).await?;
        let settle = state.config.accounts.deletion_settle_secs as i64 * 1_000;
        if settle > 0 {
            claim
                .advance(DeletionPhase::Settling, now_ms() + settle)
                .await?;
            tracing::info!(user, "account deleted; the last sweep follows later");
            return Ok(DeletionPhase::Settling);
        }
    }
    purge_and_sweep(claim).await?;
    claim.advance(DeletionPhase::Done, now_ms()).await?;
    metrics::counter!("iskra_account_deletions_total").increment(1);
    tracing::info!(user, "account deletion finished");
    Ok(DeletionPhase::Done)
}

/// [`run`] in the background, logging the outcome.
pub fn start(state: &AppState, user: &str) {
    let (state, user) = (state.clone(), user.to_owned());
    tokio::spawn(async move {
        if let Err(e) = run(&state, &user).await {
            tracing::warn!(user, error = %e, "account deletion interrupted; it will be resumed");
        }
    });
}

/// Steps 2–5 of the module notes.
async fn delete_everything(claim: &mut Claim<'_>) -> Result<(), DeletionError> {
    let (state, user) = (claim.state, claim.user);
    state.events.end(user);
    cancel_generations(state, user).await?;
    claim.step().await?;
    loop {
        let batch = state.store.asset_id_batch(user).await?;
        if batch.is_empty() {
            break;
        }
        for sha in &batch {
            state.blobs.delete(&asset_key(user, sha)).await?;
            crate::sharing::forget_asset(state, user, sha).await?;
            claim.step().await?;
        }
        state.store.delete_asset_rows(user, &batch).await?;
    }
    for table in [OwnedTable::Projects, OwnedTable::Ops] {
        while state.store.delete_user_batch(table, user).await? == BATCH as u64 {
            claim.step().await?;
        }
        claim.step().await?;
    }
    purge_and_sweep(claim).await
}

/// Steps 4 (the user row) and 5: whatever is left of the user's rows, then their storage.
async fn purge_and_sweep(claim: &mut Claim<'_>) -> Result<(), DeletionError> {
    let (state, user) = (claim.state, claim.user);
    state.store.purge_user(user).await?;
    claim.step().await?;
    state.blobs.delete_prefix(&user_prefix(user)).await?;
    state.events.end(user);
    Ok(())
}

/// Cancels the user's running and waiting generations, at fal too (best effort; fal's answer
/// does not hold the deletion up). Nothing is announced: the user's streams have ended.
async fn cancel_generations(state: &AppState, user: &str) -> Result<(), DeletionError> {
    for id in state.store.active_generation_ids(user).await? {
        let before = state
            .store
            .finish_unheld(
                &id,
                Phase::Canceled,
                ("CANCELED", "the account was deleted"),
            )
            .await?;
        let cancel_url = before.and_then(|b| b.cancel_url);
        if let (Some(url), Some(fal)) = (cancel_url, &state.gen.fal) {
            if let Err(e) = fal.cancel(&url).await {
                tracing::info!(generation = %id, error = %e, "fal did not confirm the cancel");
            }
        }
    }
    Ok(())
}

/// Takes up every due deletion (one after another) and forgets old Clerk deliveries.
pub async fn resume_due(state: &AppState) {
    match state.store.due_deletions(RESUME_BATCH).await {
        Ok(users) => {
            for user in users {
                if let Err(e) = run(state, &user).await {
                    tracing::warn!(user, error = %e, "account deletion interrupted; it will be resumed");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "account deletions not readable"),
    }
    if let Err(e) = state
        .store
        .prune_clerk_deliveries(now_ms() - DELIVERY_MEMORY_MS)
        .await
    {
        tracing::warn!(error = %e, "old Clerk deliveries not pruned");
    }
}

/// Resumes deletions at start-up and every `deletion_resume_secs` until shutdown.
pub fn spawn(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let every = Duration::from_secs(state.config.accounts.deletion_resume_secs);
        let mut stop = state.shutdown.clone();
        loop {
            resume_due(&state).await;
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    });
}
