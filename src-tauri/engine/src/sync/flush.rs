//! One sync pass: push the outbox, then pull.
//!
//! Operations flush in outbox order within their lane — one lane per project, one for assets.
//! A project lane stops at its first operation that must wait (backoff, or a transient
//! failure), so a later change never overtakes an earlier one; consecutive canvas changes go in
//! one `POST …/sync` (up to the protocol's maximum), whose answer also brings other devices'
//! changes. A generation request waits for the operations before it (its placeholder), but one
//! that must wait does not hold back later changes: nothing depends on it. Permanent refusals
//! become `rejected` rows and the lane goes on. Asset uploads pause on
//! `STORAGE_QUOTA_EXCEEDED` while canvas sync continues. A project whose generation was just
//! accepted is flushed once more, so the placeholder's link to it leaves in the same pass. The
//! pull adopts projects created on other devices, fetches changes of every project the server
//! has, and refreshes the generations still running (and the credit balance when one changed).
//! A pass that reaches the server while operations back off from a time it could not makes
//! them due and sends them in a second pass, so coming back online never waits out a backoff.

use super::backoff::retry_delay;
use super::{SyncClient, SyncError};
use crate::store::now_ms;
use crate::store::outbox::{OpPayload, OutboxOp};
use iskra_protocol::{Change, SyncRequest, MAX_CHANGES_PER_SYNC};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Operations the server accepted.
    pub sent: usize,
    /// Operations the server refused for good (kept in the outbox as rejected).
    pub rejected: usize,
    /// Operations left for a later pass (backoff, paused uploads, blocked lane).
    pub deferred: usize,
    /// Remote changes that altered local state.
    pub pulled: usize,
    /// Projects created on other devices, now on this one.
    pub new_projects: usize,
    /// Generations whose state changed by a pull.
    pub generations: usize,
}

impl SyncReport {
    /// Adds what a further pass (or part of one) sent, refused and pulled; what it deferred is
    /// the caller's to judge (the later pass may have sent what the earlier one deferred).
    fn absorb(&mut self, later: &SyncReport) {
        self.sent += later.sent;
        self.rejected += later.rejected;
        self.pulled += later.pulled;
        self.new_projects += later.new_projects;
        self.generations += later.generations;
    }
}

/// Projects a pass already pulled (through a push) or linked a generation's placeholder in.
#[derive(Default)]
struct Touched {
    pulled: HashSet<Uuid>,
    linked: HashSet<Uuid>,
}

/// How a failed request ends for its operations.
pub(super) enum Failed {
    /// Keep going with the next lane (the operations were rescheduled or rejected).
    Continue,
    /// Stop the pass: the server is unreachable, throttling us, or refused the session.
    Stop(SyncError),
}

impl SyncClient {
    /// One pass: push every due operation, then pull. Records the outcome for the status.
    pub async fn sync_once(&self) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        let result = match self.refresh_session().await {
            Ok(()) => self.pass_and_catch_up(&mut report).await,
            Err(e) => Err(e),
        };
        let (online, error) = match &result {
            Ok(()) => (true, None),
            Err(e) => (!e.is_offline(), Some(e.to_string())),
        };
        if !matches!(result, Err(SyncError::Local(_))) {
            self.set_online(online).await?;
            self.on_engine(move |e| e.record_sync_result(error.as_deref()))
                .await?;
        }
        result.map(|()| report)
    }

    /// Pending operations by lane: each project's in order, then the asset lane.
    async fn lanes(&self) -> Result<(Vec<(Uuid, Vec<OutboxOp>)>, Vec<OutboxOp>), SyncError> {
        let ops = self.on_engine(|e| e.pending_ops()).await?;
        let mut lanes: Vec<(Uuid, Vec<OutboxOp>)> = Vec::new();
        let mut assets = Vec::new();
        for op in ops {
            match op.project_id {
                None => assets.push(op),
                Some(p) => match lanes.iter_mut().find(|(id, _)| *id == p) {
                    Some((_, lane)) => lane.push(op),
                    None => lanes.push((p, vec![op])),
                },
            }
        }
        Ok((lanes, assets))
    }

    /// A pass; when it reached the server while operations still backed off from a time it
    /// could not, those are due now and a second pass sends them (D4: flush on reconnect).
    async fn pass_and_catch_up(&self, report: &mut SyncReport) -> Result<(), SyncError> {
        self.pass(report).await?;
        // Nothing waited: no write to the outbox on the common pass.
        if report.deferred == 0 || self.on_engine(|e| e.ops_due_on_reconnect()).await? == 0 {
            return Ok(());
        }
        let mut again = SyncReport::default();
        self.pass(&mut again).await?;
        report.absorb(&again);
        report.deferred = again.deferred;
        Ok(())
    }

    async fn pass(&self, report: &mut SyncReport) -> Result<(), SyncError> {
        let (lanes, assets) = self.lanes().await?;
        let mut touched = Touched::default();
        for (project, lane) in lanes {
            self.flush_project(project, &lane, report, &mut touched)
                .await?;
        }
        self.flush_assets(&assets, report).await?;
        if !touched.linked.is_empty() {
            // Placeholders of accepted generations were linked: send those changes now.
            let linked = std::mem::take(&mut touched.linked);
            let mut again = SyncReport::default();
            for (project, lane) in self.lanes().await?.0 {
                if linked.contains(&project) {
                    self.flush_project(project, &lane, &mut again, &mut touched)
                        .await?;
                }
            }
            report.absorb(&again);
        }
        self.pull(report, &touched.pulled).await?;
        let refreshed = self.refresh_generations().await?;
        if refreshed > 0 {
            // A generation may have ended (charged or released): the balance follows.
            self.refresh_credits_quietly().await?;
        }
        report.generations += refreshed;
        self.models_if_missing().await
    }

    /// Reschedules or rejects `ops` after `err`.
    pub(super) async fn settle(
        &self,
        ops: Vec<Uuid>,
        attempts: u32,
        err: SyncError,
    ) -> Result<Failed, SyncError> {
        if err.stops_sync() {
            // Nothing wrong with the operations: back to pending, untouched.
            let body = err.to_op_error();
            self.on_engine(move |e| e.ops_postpone(&ops, 0, &body))
                .await?;
            return Ok(Failed::Stop(err));
        }
        let body = err.to_op_error();
        if err.is_retryable() {
            let next = now_ms() + retry_delay(attempts, err.retry_after()).as_millis() as u64;
            self.on_engine(move |e| e.ops_retry_later(&ops, next, &body))
                .await?;
            let stop = err.is_offline() || matches!(err, SyncError::RateLimited { .. });
            Ok(if stop {
                Failed::Stop(err)
            } else {
                Failed::Continue
            })
        } else {
            tracing::warn!(error = %err, "server refused operations; kept as rejected");
            self.on_engine(move |e| e.ops_reject(&ops, &body)).await?;
            Ok(Failed::Continue)
        }
    }

    async fn flush_project(
        &self,
        project: Uuid,
        lane: &[OutboxOp],
        report: &mut SyncReport,
        touched: &mut Touched,
    ) -> Result<(), SyncError> {
        let mut i = 0;
        while i < lane.len() {
            let head = &lane[i];
            let independent = head.payload.is_generation();
            if head.next_attempt_ms > now_ms() {
                if independent {
                    report.deferred += 1;
                    i += 1;
                    continue;
                }
                report.deferred += lane.len() - i;
                return Ok(());
            }
            let batch: Vec<&OutboxOp> = if matches!(head.payload, OpPayload::Change { .. }) {
                lane[i..]
                    .iter()
                    .take_while(|o| matches!(o.payload, OpPayload::Change { .. }))
                    .take(MAX_CHANGES_PER_SYNC)
                    .collect()
            } else {
                vec![head]
            };
            let ids: Vec<Uuid> = batch.iter().map(|o| o.op_id).collect();
            let in_flight = ids.clone();
            self.on_engine(move |e| e.ops_in_flight(&in_flight)).await?;
            let result = match &head.payload {
                OpPayload::Change { .. } => self.push_changes(project, &batch, report).await,
                p if p.is_generation() => self.send_generation_op(head).await,
                _ => self.send_project_op(project, head).await,
            };
            match result {
                Ok(()) => match head.payload {
                    OpPayload::Change { .. } => {
                        touched.pulled.insert(project);
                    }
                    OpPayload::GenerationSubmit { .. } => {
                        report.sent += 1;
                        touched.linked.insert(project);
                    }
                    _ => report.sent += 1,
                },
                Err(err) => {
                    let refused = !err.is_retryable() && !err.stops_sync();
                    match self.settle(ids, head.attempts, err).await? {
                        Failed::Stop(err) => return Err(err),
                        Failed::Continue if refused => report.rejected += batch.len(),
                        Failed::Continue if independent => report.deferred += 1,
                        Failed::Continue => {
                            report.deferred += lane.len() - i;
                            return Ok(());
                        }
                    }
                }
            }
            i += batch.len();
        }
        Ok(())
    }

    async fn send_project_op(&self, project: Uuid, op: &OutboxOp) -> Result<(), SyncError> {
        match &op.payload {
            OpPayload::ProjectCreate { name } => {
                self.api.create_project(project, name, op.op_id).await?;
                self.on_engine(move |e| e.mark_project_remote(project))
                    .await?;
            }
            OpPayload::ProjectRename { name } => {
                self.api.rename_project(project, name).await?;
            }
            OpPayload::ProjectDelete => self.api.delete_project(project).await?,
            other => {
                return Err(SyncError::Protocol(format!(
                    "{} in a project lane",
                    other.kind()
                )))
            }
        }
        let id = op.op_id;
        self.on_engine(move |e| e.ops_done(&[id])).await
    }

    async fn push_changes(
        &self,
        project: Uuid,
        batch: &[&OutboxOp],
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let changes: Vec<Change> = batch
            .iter()
            .filter_map(|o| match &o.payload {
                OpPayload::Change { change } => Some(change.clone()),
                _ => None,
            })
            .collect();
        let since = self.on_engine(move |e| e.sync_cursor(project)).await?;
        let req = SyncRequest {
            client_id: self.engine.client_id(),
            since,
            changes,
        };
        let resp = self.api.sync(project, &req).await?;
        let refused: HashMap<Uuid, _> = resp
            .rejected
            .into_iter()
            .map(|r| (r.op_id, r.error))
            .collect();
        let accepted: Vec<Uuid> = batch
            .iter()
            .map(|o| o.op_id)
            .filter(|id| !refused.contains_key(id))
            .collect();
        report.sent += accepted.len();
        report.rejected += refused.len();
        let (changes, cursor) = (resp.changes, resp.cursor);
        let applied = self
            .on_engine(move |e| {
                for (op, error) in refused {
                    let refusal = SyncError::Rejected {
                        status: error.code.status(),
                        error,
                    };
                    e.ops_reject(&[op], &refusal.to_op_error())?;
                }
                e.ops_done(&accepted)?;
                e.apply_pulled(project, &changes, Some(&cursor))
            })
            .await?;
        report.pulled += applied.changed;
        Ok(())
    }

    async fn pull(&self, report: &mut SyncReport, done: &HashSet<Uuid>) -> Result<(), SyncError> {
        let remote = self.api.list_projects().await?;
        let new = self
            .on_engine(move |e| {
                let mut new = 0;
                for p in &remote {
                    new += usize::from(e.adopt_remote_project(p)?);
                }
                Ok(new)
            })
            .await?;
        report.new_projects += new;
        let ids = self.on_engine(|e| e.remote_project_ids()).await?;
        for project in ids.into_iter().filter(|p| !done.contains(p)) {
            let since = self.on_engine(move |e| e.sync_cursor(project)).await?;
            let resp = match self.api.changes(project, since.as_deref()).await {
                Ok(r) => r,
                Err(SyncError::Rejected { status: 404, .. }) => {
                    // Gone on the server (deleted elsewhere). Local data stays until the user
                    // decides (X1); nothing more to pull.
                    tracing::warn!(%project, "project no longer on the server");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let applied = self
                .on_engine(move |e| {
                    match e.apply_pulled(project, &resp.changes, Some(&resp.cursor)) {
                        Err(crate::EngineError::ProjectNotFound(_)) => Ok(Default::default()),
                        other => other,
                    }
                })
                .await?;
            report.pulled += applied.changed;
        }
        Ok(())
    }
}
