//! The generation workers: tasks inside every server process that take due jobs from the
//! durable table with a lease and move each one step on — submit to fal, poll (or read the
//! webhook fal sent), fetch the result, store the outputs, place them on the canvas.
//!
//! Exactly once, whatever crashes: a job's fal submit happens only after `submit_sent_at` is
//! committed, and a job found with `submit_sent_at` but no `request_id` (the process died
//! while fal was answering) is failed rather than submitted again — it cannot be told whether
//! fal has it. Polling and result fetches are idempotent and are simply repeated by whichever
//! worker holds the lease next; outputs are content-addressed and canvas writes are keyed by
//! op ids derived from the job, so repeating the last step stores and writes nothing twice.
//! While fal's circuit is open no new job is submitted: they wait `queued`.

use super::{announce, announce_line, canvas, inputs, outputs};
use crate::fal::{output_refs, result_seed, FalError, FalStatus, FalWebhook};
use crate::state::AppState;
use crate::store::generations::{GenRow, Phase, Update};
use crate::store::now_ms;
use backon::BackoffBuilder;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

/// Longest an idle worker waits before looking for due jobs again (a webhook or a submit
/// on this process wakes it sooner; this bounds the delay for work made due elsewhere).
const IDLE_TICK: Duration = Duration::from_millis(250);
/// How often the watchdog looks for stuck jobs.
const WATCHDOG_TICK: Duration = Duration::from_secs(5);

/// Starts the workers and the watchdog; they stop when the server shuts down.
pub fn spawn(state: &AppState) {
    if state.gen.fal.is_none() {
        return;
    }
    for _ in 0..state.config.generation.workers {
        tokio::spawn(run(state.clone()));
    }
    tokio::spawn(watchdog(state.clone()));
}

async fn run(state: AppState) {
    let wake = state.gen.wake_signal();
    let mut stop = state.shutdown.clone();
    loop {
        if *stop.borrow() {
            return;
        }
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match next(&state).await {
            Ok(Some(row)) => {
                with_lease(&state, &row, step(&state, row.clone())).await;
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "generation queue not readable"),
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(IDLE_TICK) => {}
            _ = stop.changed() => return,
        }
    }
}

fn lease_ms(state: &AppState) -> i64 {
    state.config.generation.lease_secs as i64 * 1_000
}

/// The next job to work on: one already at fal that is due, else a queued one with a free
/// slot (none while fal's circuit is open).
async fn next(state: &AppState) -> Result<Option<GenRow>, sqlx::Error> {
    let owner = &state.gen.owner;
    if let Some(row) = state.store.claim_active(owner, lease_ms(state)).await? {
        return Ok(Some(row));
    }
    if state.gen.fal.as_ref().is_some_and(|f| f.circuit_open()) {
        return Ok(None);
    }
    let row = state
        .store
        .claim_queued(owner, lease_ms(state), state.config.generation.concurrency)
        .await?;
    if let Some(row) = &row {
        announce(state, row).await;
        announce_line(state, &row.user_id).await;
    }
    Ok(row)
}

/// Runs `work` while renewing the job's lease every third of its length.
async fn with_lease(state: &AppState, row: &GenRow, work: impl Future<Output = ()>) {
    let every = Duration::from_millis((lease_ms(state) / 3).max(1) as u64);
    tokio::pin!(work);
    loop {
        tokio::select! {
            _ = &mut work => return,
            _ = tokio::time::sleep(every) => {
                let until = now_ms() + lease_ms(state);
                if let Err(e) = state.store.renew_lease(&row.id, &state.gen.owner, until).await {
                    tracing::warn!(generation = %row.id, error = %e, "lease not renewed");
                }
            }
        }
    }
}

async fn step(state: &AppState, row: GenRow) {
    let phase = row.phase();
    let result = match phase {
        Phase::Submitting => submit(state, &row).await,
        Phase::Submitted => poll(state, &row).await,
        Phase::Finishing => finish(state, &row, None).await,
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!(generation = %row.id, error = %e, "generation step failed; tried again later");
        let later = Update {
            due_at: Some(now_ms() + backoff(row.attempts as usize).as_millis() as i64),
            attempts: Some(row.attempts + 1),
            ..Default::default()
        };
        let _ = state
            .store
            .advance(&row, &state.gen.owner, phase, &later)
            .await;
    }
}

/// The delay before attempt `n + 1` of something that failed transiently.
fn backoff(n: usize) -> Duration {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(30))
        .with_jitter()
        .with_max_times(usize::MAX)
        .build()
        .nth(n)
        .unwrap_or(Duration::from_secs(30))
}

fn poll_every(state: &AppState) -> Duration {
    let g = &state.config.generation;
    if state.config.public_url.is_some() {
        Duration::from_secs(g.webhook_poll_secs)
    } else {
        Duration::from_millis(g.poll_interval_ms)
    }
}

/// Moves a job on and announces it; false when it had moved on already (canceled, stuck).
async fn advance(
    state: &AppState,
    row: &GenRow,
    from: Phase,
    u: Update<'_>,
) -> Result<bool, sqlx::Error> {
    let done = state.store.advance(row, &state.gen.owner, from, &u).await?;
    if done {
        if let Some(updated) = state.store.generation_by_id(&row.id).await? {
            announce(state, &updated).await;
            if let Some(to) = u.phase {
                if from.holds_slot() && !to.holds_slot() {
                    announce_line(state, &row.user_id).await;
                    state.gen.wake();
                }
                if to.is_terminal() {
                    metrics::counter!("iskra_generations_total", "event" => to.as_str())
                        .increment(1);
                    crate::credits::announce(state, &row.user_id).await;
                }
            }
        }
    }
    Ok(done)
}

async fn fail(
    state: &AppState,
    row: &GenRow,
    from: Phase,
    code: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    tracing::info!(generation = %row.id, code, message, "generation failed");
    advance(
        state,
        row,
        from,
        Update {
            phase: Some(Phase::Failed),
            error: Some((code, message)),
            fal_position: Some(None),
            ..Default::default()
        },
    )
    .await
    .map(|_| ())
}

async fn submit(state: &AppState, row: &GenRow) -> Result<(), sqlx::Error> {
    const FROM: Phase = Phase::Submitting;
    let Some(fal) = state.gen.fal.clone() else {
        return Ok(());
    };
    if row.submit_sent_at.is_some() {
        return fail(
            state,
            row,
            FROM,
            "SUBMIT_INTERRUPTED",
            "the server stopped while handing this request to fal; it was not sent again so \
             it cannot run twice — please generate again",
        )
        .await;
    }
    let Some(model) = state.config.generation.model_by_id(&row.model).cloned() else {
        return fail(
            state,
            row,
            FROM,
            "MODEL_UNAVAILABLE",
            "this model is no longer offered",
        )
        .await;
    };
    let input = match inputs::build(state, row, &model).await {
        Ok(input) => input,
        Err(inputs::InputError::Invalid(m)) => {
            return fail(state, row, FROM, "INVALID_INPUT", &m).await
        }
        Err(inputs::InputError::Fal(e)) if !e.is_transient() => {
            return fail(state, row, FROM, "FAL_REJECTED", &e.to_string()).await
        }
        Err(e) => return requeue(state, row, &e.to_string()).await,
    };
    let sent = Update {
        submit_sent_at: Some(Some(now_ms())),
        keep_lease_until: Some(now_ms() + lease_ms(state)),
        ..Default::default()
    };
    if !state
        .store
        .advance(row, &state.gen.owner, FROM, &sent)
        .await?
    {
        return Ok(());
    }
    let webhook = state
        .config
        .public_url
        .as_ref()
        .map(|_| format!("{}/v1/webhooks/fal", state.public_base));
    match fal.submit(&model.id, &input, webhook.as_deref()).await {
        Ok(submitted) => {
            let moved = advance(
                state,
                row,
                FROM,
                Update {
                    phase: Some(Phase::Submitted),
                    request: Some(&submitted),
                    due_at: Some(now_ms() + poll_every(state).as_millis() as i64),
                    ..Default::default()
                },
            )
            .await?;
            if !moved {
                // Canceled while fal was answering: fal has it now, so cancel it there too.
                let _ = fal.cancel(&submitted.cancel_url).await;
            } else if state
                .store
                .fal_webhook(&submitted.request_id)
                .await?
                .is_some()
            {
                // The webhook came before the request id was stored: take it now.
                state.store.make_due(&submitted.request_id).await?;
                state.gen.wake();
            }
            Ok(())
        }
        Err(e) if e.is_transient() => requeue(state, row, &e.to_string()).await,
        Err(FalError::Ambiguous(m)) => {
            let msg = format!(
                "fal did not confirm the request ({m}); it was not sent again so it cannot run \
                 twice — please generate again"
            );
            fail(state, row, FROM, "SUBMIT_INTERRUPTED", &msg).await
        }
        Err(e) => fail(state, row, FROM, "FAL_REJECTED", &rejection(&e)).await,
    }
}

/// fal's own words for a refusal.
fn rejection(e: &FalError) -> String {
    match e {
        FalError::Rejected { message, .. } | FalError::Failed(message) => message.clone(),
        other => other.to_string(),
    }
}

/// Puts a job whose submit certainly did not reach fal back in line, after a backoff.
async fn requeue(state: &AppState, row: &GenRow, why: &str) -> Result<(), sqlx::Error> {
    tracing::info!(generation = %row.id, why, "fal unavailable; generation waits queued");
    let delay = backoff(row.attempts as usize);
    advance(
        state,
        row,
        Phase::Submitting,
        Update {
            phase: Some(Phase::Queued),
            submit_sent_at: Some(None),
            attempts: Some(row.attempts + 1),
            due_at: Some(now_ms() + delay.as_millis() as i64),
            ..Default::default()
        },
    )
    .await
    .map(|_| ())
}

async fn poll(state: &AppState, row: &GenRow) -> Result<(), sqlx::Error> {
    const FROM: Phase = Phase::Submitted;
    let Some(fal) = state.gen.fal.clone() else {
        return Ok(());
    };
    let later = |position: Option<Option<i64>>| Update {
        due_at: Some(now_ms() + poll_every(state).as_millis() as i64),
        fal_position: position,
        ..Default::default()
    };
    if let Some(result) = webhook_result(state, row).await? {
        return match result {
            Ok(Some(result)) => finish(state, row, Some(result)).await,
            Ok(None) => fetch_result(state, row, &fal).await,
            Err(message) => fail(state, row, FROM, "FAL_FAILED", &message).await,
        };
    }
    let Some(status_url) = row.status_url.as_deref() else {
        return fail(state, row, FROM, "FAL_FAILED", "fal gave no status URL").await;
    };
    match fal.status(status_url).await {
        Ok(FalStatus::Completed) => fetch_result(state, row, &fal).await,
        Ok(FalStatus::InQueue { position }) => {
            let changed = position != row.fal_position;
            let update = later(changed.then_some(position));
            if changed {
                advance(state, row, FROM, update).await.map(|_| ())
            } else {
                state
                    .store
                    .advance(row, &state.gen.owner, FROM, &update)
                    .await
                    .map(|_| ())
            }
        }
        Ok(FalStatus::InProgress) => {
            let update = later(row.fal_position.is_some().then_some(None));
            if row.fal_position.is_some() {
                advance(state, row, FROM, update).await.map(|_| ())
            } else {
                state
                    .store
                    .advance(row, &state.gen.owner, FROM, &update)
                    .await
                    .map(|_| ())
            }
        }
        Ok(FalStatus::Unknown(status)) => {
            tracing::warn!(generation = %row.id, status, "unknown fal status; polling again");
            state
                .store
                .advance(row, &state.gen.owner, FROM, &later(None))
                .await
                .map(|_| ())
        }
        Err(e) if e.is_transient() => retry_later(state, row, FROM).await,
        Err(e) => fail(state, row, FROM, "FAL_FAILED", &rejection(&e)).await,
    }
}

/// What a recorded webhook says: `Ok(Some(result))`, `Ok(None)` (no payload: fetch it), or
/// fal's failure message; `None` when no webhook came (or it cannot be read).
async fn webhook_result(
    state: &AppState,
    row: &GenRow,
) -> Result<Option<Result<Option<Value>, String>>, sqlx::Error> {
    let Some(request_id) = row.request_id.as_deref() else {
        return Ok(None);
    };
    let Some(body) = state.store.fal_webhook(request_id).await? else {
        return Ok(None);
    };
    Ok(FalWebhook::parse(body.as_bytes()).ok().map(|w| w.outcome()))
}

async fn retry_later(state: &AppState, row: &GenRow, from: Phase) -> Result<(), sqlx::Error> {
    let update = Update {
        due_at: Some(now_ms() + backoff(row.attempts as usize).as_millis() as i64),
        attempts: Some(row.attempts + 1),
        ..Default::default()
    };
    state
        .store
        .advance(row, &state.gen.owner, from, &update)
        .await
        .map(|_| ())
}

async fn fetch_result(
    state: &AppState,
    row: &GenRow,
    fal: &crate::fal::FalClient,
) -> Result<(), sqlx::Error> {
    let Some(url) = row.response_url.as_deref() else {
        return fail(
            state,
            row,
            Phase::Submitted,
            "FAL_FAILED",
            "fal gave no result URL",
        )
        .await;
    };
    match fal.result(url).await {
        Ok(result) => finish(state, row, Some(result)).await,
        Err(e) if e.is_transient() => retry_later(state, row, row.phase()).await,
        Err(e) => fail(state, row, row.phase(), "FAL_FAILED", &rejection(&e)).await,
    }
}

/// Stores the outputs of a job fal completed, places them on the canvas and completes the
/// job. The job stays `submitted` meanwhile (no write of a phase of its own): a worker that
/// dies halfway leaves it to the next one, which fetches the same result again and stores
/// nothing twice. (`finishing` rows of earlier versions are finished the same way.)
async fn finish(state: &AppState, row: &GenRow, result: Option<Value>) -> Result<(), sqlx::Error> {
    let from = row.phase();
    let result = match result {
        Some(r) => r,
        None => match webhook_result(state, row).await? {
            Some(Ok(Some(r))) => r,
            _ => {
                let (Some(fal), Some(url)) = (state.gen.fal.clone(), row.response_url.as_deref())
                else {
                    return fail(state, row, from, "FAL_FAILED", "fal gave no result URL").await;
                };
                match fal.result(url).await {
                    Ok(r) => r,
                    Err(e) if e.is_transient() => return retry_later(state, row, from).await,
                    Err(e) => return fail(state, row, from, "FAL_FAILED", &rejection(&e)).await,
                }
            }
        },
    };
    let seed = result_seed(&result);
    let stored = match outputs::store_all(state, row, &output_refs(&result), seed).await {
        Ok(stored) => stored,
        Err(outputs::OutputError::Bad(m)) => return fail(state, row, from, "BAD_OUTPUT", &m).await,
        Err(outputs::OutputError::Quota(_)) => {
            let m = "storage limit reached: delete assets or upgrade to keep generating";
            return fail(state, row, from, "STORAGE_QUOTA_EXCEEDED", m).await;
        }
        Err(outputs::OutputError::Internal(m)) => {
            tracing::warn!(generation = %row.id, error = %m, "outputs not stored; tried again later");
            return retry_later(state, row, from).await;
        }
    };
    canvas::place(state, row, &stored).await?;
    let ids: Vec<String> = stored.iter().map(|a| a.sha256.clone()).collect();
    advance(
        state,
        row,
        from,
        Update {
            phase: Some(Phase::Completed),
            outputs: Some(&ids),
            seed: seed.map(|s| s as i64),
            charge: Some(crate::credits::charge_for(state, row, ids.len())),
            ..Default::default()
        },
    )
    .await
    .map(|_| ())
}

/// Fails jobs running longer than `stuck_after_secs` (and cancels them at fal).
async fn watchdog(state: AppState) {
    let mut stop = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(WATCHDOG_TICK) => {}
            _ = stop.changed() => return,
        }
        let limit = state.config.generation.stuck_after_secs;
        let before = now_ms() - limit as i64 * 1_000;
        let stuck = match state.store.stuck_generations(before).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "watchdog could not read running generations");
                continue;
            }
        };
        for row in stuck {
            let message = format!("the generation ran longer than {limit} s and was stopped");
            let ended = state
                .store
                .finish_unheld(&row.id, Phase::Failed, ("STUCK", &message))
                .await;
            if let Ok(Some(before)) = ended {
                tracing::warn!(generation = %row.id, "generation stuck; failed by the watchdog");
                if let (Some(url), Some(fal)) = (&before.cancel_url, &state.gen.fal) {
                    let _ = fal.cancel(url).await;
                }
                if let Ok(Some(now)) = state.store.generation_by_id(&row.id).await {
                    announce(&state, &now).await;
                }
                announce_line(&state, &row.user_id).await;
                crate::credits::announce(&state, &row.user_id).await;
                state.gen.wake();
            }
        }
    }
}
