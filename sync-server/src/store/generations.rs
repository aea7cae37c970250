//! Generation jobs: the durable queue behind `POST /v1/generations` (S7).
//!
//! A worker claims a job with a lease (`lease_owner`, `lease_until`): one conditional `UPDATE`
//! that only succeeds while nobody else holds an unexpired lease, so replicas over one
//! PostgreSQL (where the candidate is also picked `FOR UPDATE SKIP LOCKED`) or workers over one
//! SQLite file claim each job exactly once. Starting a queued job takes one of the user's
//! concurrency slots (`users.gen_running`) in the same transaction, by a conditional increment
//! that cannot pass the tier's limit; every move to a final phase gives the slot back in the
//! same transaction. Every later write of a worker is guarded by the phase it expects and its
//! own lease, so a worker whose lease was taken over, or whose job was canceled meanwhile,
//! changes nothing.

use super::api_keys::KeySubmission;
use super::credits::{move_credits_in, Decision, Moved};
use super::{now_ms, Backend, Store};
use crate::config::generation::Concurrency;
use crate::credits::{self, account::Account};
use sqlx::FromRow;

/// The worker's view of where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a slot, or for fal to recover.
    Queued,
    /// Claimed; the submit to fal is being made.
    Submitting,
    /// fal has the request.
    Submitted,
    /// fal finished; outputs are being downloaded and stored.
    Finishing,
    Completed,
    Failed,
    Canceled,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Submitting => "submitting",
            Self::Submitted => "submitted",
            Self::Finishing => "finishing",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "queued" => Self::Queued,
            "submitting" => Self::Submitting,
            "submitted" => Self::Submitted,
            "finishing" => Self::Finishing,
            "completed" => Self::Completed,
            "canceled" => Self::Canceled,
            _ => Self::Failed,
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Canceled)
    }

    /// Whether the job holds one of its user's concurrency slots.
    pub fn holds_slot(self) -> bool {
        matches!(self, Self::Submitting | Self::Submitted | Self::Finishing)
    }
}

/// A generation row.
#[derive(Debug, Clone, FromRow)]
pub struct GenRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub model: String,
    pub prompt: String,
    pub params: String,
    pub image_asset_id: Option<String>,
    pub project_id: Option<String>,
    pub element_id: Option<String>,
    pub phase: String,
    pub request_id: Option<String>,
    pub status_url: Option<String>,
    pub response_url: Option<String>,
    pub cancel_url: Option<String>,
    pub fal_position: Option<i64>,
    pub submit_sent_at: Option<i64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub outputs: Option<String>,
    pub seed: Option<i64>,
    pub attempts: i64,
    pub due_at: i64,
    pub lease_owner: Option<String>,
    pub lease_until: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// Credits held at submit (none for jobs from before the ledger).
    pub credits_estimated: Option<i64>,
    pub credits_charged: Option<i64>,
    /// The part of the hold taken from granted credits.
    pub hold_grants: Option<i64>,
}

impl GenRow {
    pub fn phase(&self) -> Phase {
        Phase::parse(&self.phase)
    }

    /// The output asset ids, in order.
    pub fn output_ids(&self) -> Vec<String> {
        self.outputs
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }
}

const COLUMNS: &str = "id, user_id, kind, model, prompt, params, image_asset_id, project_id, \
    element_id, phase, request_id, status_url, response_url, cancel_url, fal_position, \
    submit_sent_at, error_code, error_message, outputs, seed, attempts, due_at, lease_owner, \
    lease_until, created_at, started_at, completed_at, credits_estimated, credits_charged, \
    hold_grants";

/// A new job as submitted.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub model: String,
    pub prompt: String,
    pub params: String,
    pub image_asset_id: Option<String>,
    pub project_id: Option<String>,
    pub element_id: Option<String>,
}

/// Filters of the generation list.
#[derive(Debug, Clone, Default)]
pub struct GenQuery {
    /// Phases to include (one API status may be several phases).
    pub phases: Vec<&'static str>,
    pub project_id: Option<String>,
    pub limit: i64,
    /// `(created_at, id)` of the last item of the previous page.
    pub after: Option<(i64, String)>,
}

/// What a worker writes when it moves a job on.
#[derive(Debug, Clone, Default)]
pub struct Update<'a> {
    pub phase: Option<Phase>,
    pub due_at: Option<i64>,
    pub request: Option<&'a crate::fal::Submitted>,
    pub fal_position: Option<Option<i64>>,
    pub submit_sent_at: Option<Option<i64>>,
    pub error: Option<(&'a str, &'a str)>,
    pub outputs: Option<&'a [String]>,
    pub seed: Option<i64>,
    pub attempts: Option<i64>,
    /// Keep the lease (the worker goes on) instead of releasing it.
    pub keep_lease_until: Option<i64>,
    /// Credits a completed job is charged (what it produced); the rest of its hold is released.
    pub charge: Option<i64>,
}

impl Store {
    /// Inserts a queued job holding `estimate` credits of its user, in one transaction: the
    /// hold is taken only if the balance covers it (`Err` with the account as it is when not).
    /// With `key` (the request's `Idempotency-Key`, claimed by the caller), the key's answer
    /// `{"generationId"}` is stored in the same transaction, and so is the link to the API key
    /// that submitted it (`api_key`): a crash leaves either the job with its answer and link,
    /// or none of them.
    pub async fn insert_generation_holding(
        &self,
        job: &NewJob,
        estimate: i64,
        key: Option<&str>,
        api_key: Option<KeySubmission<'_>>,
    ) -> Result<Result<GenRow, Account>, sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        let cause = format!("generation:{}", job.id);
        let moved = move_credits_in(
            &mut tx,
            &job.user_id,
            &cause,
            "generation submitted",
            |acc| match credits::account::reserve(acc, estimate) {
                Some((change, from_grants)) => Decision::Apply(change, from_grants),
                None => Decision::Refuse,
            },
        )
        .await?;
        let from_grants = match moved {
            Moved::Applied(_, from_grants) => from_grants,
            Moved::Refused(acc) => {
                tx.rollback().await?;
                return Ok(Err(acc));
            }
            Moved::Duplicate => {
                tx.rollback().await?;
                return Err(sqlx::Error::Protocol(format!("{cause} was held before")));
            }
        };
        let now = now_ms();
        sqlx::query(
            "INSERT INTO generations (id, user_id, kind, model, prompt, params, image_asset_id, \
             project_id, element_id, phase, due_at, created_at, credits_estimated, hold_grants) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $10, $11, $12)",
        )
        .bind(&job.id)
        .bind(&job.user_id)
        .bind(&job.kind)
        .bind(&job.model)
        .bind(&job.prompt)
        .bind(&job.params)
        .bind(&job.image_asset_id)
        .bind(&job.project_id)
        .bind(&job.element_id)
        .bind(now)
        .bind(estimate)
        .bind(from_grants)
        .execute(&mut *tx)
        .await?;
        if let Some(api_key) = api_key {
            api_key.link(&mut tx, &job.id).await?;
        }
        if let Some(key) = key {
            sqlx::query(
                "UPDATE idempotency SET status = 202, body = $1 WHERE user_id = $2 AND key = $3",
            )
            .bind(serde_json::json!({ "generationId": job.id }).to_string())
            .bind(&job.user_id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.generation_by_id(&job.id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
            .map(Ok)
    }

    /// A job by id, whoever owns it (workers).
    pub async fn generation_by_id(&self, id: &str) -> Result<Option<GenRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM generations WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// A user's job; `None` for other users' ids.
    pub async fn generation(&self, user: &str, id: &str) -> Result<Option<GenRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM generations WHERE user_id = $1 AND id = $2"
        ))
        .bind(user)
        .bind(id)
        .fetch_optional(self.pool())
        .await
    }

    /// One page of a user's jobs, newest first.
    pub async fn list_generations(
        &self,
        user: &str,
        q: &GenQuery,
    ) -> Result<Vec<GenRow>, sqlx::Error> {
        let mut sql = format!("SELECT {COLUMNS} FROM generations WHERE user_id = $1");
        let mut n = 1;
        if !q.phases.is_empty() {
            let list: Vec<String> = q
                .phases
                .iter()
                .map(|_| {
                    n += 1;
                    format!("${n}")
                })
                .collect();
            sql += &format!(" AND phase IN ({})", list.join(", "));
        }
        if q.project_id.is_some() {
            n += 1;
            sql += &format!(" AND project_id = ${n}");
        }
        if q.after.is_some() {
            sql += &format!(" AND (created_at, id) < (${}, ${})", n + 1, n + 2);
            n += 2;
        }
        sql += &format!(" ORDER BY created_at DESC, id DESC LIMIT ${}", n + 1);
        let mut query = sqlx::query_as::<_, GenRow>(&sql).bind(user);
        for p in &q.phases {
            query = query.bind(*p);
        }
        if let Some(p) = &q.project_id {
            query = query.bind(p.clone());
        }
        if let Some((at, id)) = &q.after {
            query = query.bind(*at).bind(id.clone());
        }
        query.bind(q.limit).fetch_all(self.pool()).await
    }

    /// Queued jobs of the user created before this one (its place in Iskra's line).
    pub async fn queue_position(&self, row: &GenRow) -> Result<i64, sqlx::Error> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM generations WHERE user_id = $1 AND phase = 'queued' \
             AND (created_at < $2 OR (created_at = $2 AND id < $3))",
        )
        .bind(&row.user_id)
        .bind(row.created_at)
        .bind(&row.id)
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    /// The first `limit` queued jobs of a user, oldest first.
    pub async fn queued_of_user(&self, user: &str, limit: i64) -> Result<Vec<GenRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM generations WHERE user_id = $1 AND phase = 'queued' \
             ORDER BY created_at, id LIMIT $2"
        ))
        .bind(user)
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }

    /// Claims a job that is due and already at fal (or being finished), whose lease is free.
    pub async fn claim_active(
        &self,
        owner: &str,
        lease_ms: i64,
    ) -> Result<Option<GenRow>, sqlx::Error> {
        let now = now_ms();
        let pick = self.pick(
            "SELECT id FROM generations WHERE phase IN ('submitting', 'submitted', 'finishing') \
             AND due_at <= $1 AND lease_until < $1 ORDER BY due_at LIMIT 1",
            "",
        );
        sqlx::query_as(&format!(
            "UPDATE generations SET lease_owner = $2, lease_until = $3 \
             WHERE id = ({pick}) AND lease_until < $1 AND phase IN ('submitting', 'submitted', 'finishing') \
             RETURNING {COLUMNS}"
        ))
        .bind(now)
        .bind(owner)
        .bind(now + lease_ms)
        .fetch_optional(self.writer())
        .await
    }

    /// Starts the oldest due queued job whose user has a free concurrency slot: takes the slot
    /// and the lease and moves it to `submitting`, in one transaction.
    pub async fn claim_queued(
        &self,
        owner: &str,
        lease_ms: i64,
        slots: Concurrency,
    ) -> Result<Option<GenRow>, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        // Begin with a write so SQLite takes its lock up front (see the store's notes).
        sqlx::query("UPDATE generations SET lease_until = lease_until WHERE id = ''")
            .execute(&mut *tx)
            .await?;
        let pick = self.pick(
            "SELECT g.id FROM generations g JOIN users u ON u.id = g.user_id \
             WHERE g.phase = 'queued' AND g.due_at <= $1 AND g.lease_until < $1 \
             AND u.gen_running < CASE u.tier WHEN 'enterprise' THEN $2 WHEN 'pro' THEN $3 ELSE $4 END \
             ORDER BY g.created_at, g.id LIMIT 1",
            " OF g",
        );
        let candidate: Option<(String, String)> = sqlx::query_as(&format!(
            "SELECT id, user_id FROM generations WHERE id = ({pick})"
        ))
        .bind(now)
        .bind(slots.enterprise)
        .bind(slots.pro)
        .bind(slots.free)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, user)) = candidate else {
            tx.rollback().await?;
            return Ok(None);
        };
        let slot = sqlx::query(
            "UPDATE users SET gen_running = gen_running + 1 WHERE id = $1 AND gen_running < \
             CASE tier WHEN 'enterprise' THEN $2 WHEN 'pro' THEN $3 ELSE $4 END",
        )
        .bind(&user)
        .bind(slots.enterprise)
        .bind(slots.pro)
        .bind(slots.free)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if slot == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let row: Option<GenRow> = sqlx::query_as(&format!(
            "UPDATE generations SET phase = 'submitting', started_at = $2, lease_owner = $3, \
             lease_until = $4, fal_position = NULL WHERE id = $5 AND phase = 'queued' AND lease_until < $1 \
             RETURNING {COLUMNS}"
        ))
        .bind(now)
        .bind(now)
        .bind(owner)
        .bind(now + lease_ms)
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_some() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(row)
    }

    /// `sql` picking one candidate row, made safe against concurrent pickers on PostgreSQL.
    fn pick(&self, sql: &str, lock: &str) -> String {
        match self.backend() {
            Backend::Postgres => format!("{sql} FOR UPDATE{lock} SKIP LOCKED"),
            Backend::Sqlite => sql.to_owned(),
        }
    }

    /// Extends a worker's lease; false when the worker no longer holds it.
    pub async fn renew_lease(
        &self,
        id: &str,
        owner: &str,
        until: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(sqlx::query(
            "UPDATE generations SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 \
             AND phase IN ('submitting', 'submitted', 'finishing')",
        )
        .bind(until)
        .bind(id)
        .bind(owner)
        .execute(self.writer())
        .await?
        .rows_affected()
            == 1)
    }

    /// Applies a worker's update to a job it holds in phase `from`; false (nothing written)
    /// when the job moved on meanwhile (canceled, failed by the watchdog, lease taken over).
    /// Leaving a slot-holding phase gives the user's slot back in the same transaction.
    pub async fn advance(
        &self,
        row: &GenRow,
        owner: &str,
        from: Phase,
        u: &Update<'_>,
    ) -> Result<bool, sqlx::Error> {
        let mut sets: Vec<String> = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        let mut push = |col: &str, v: Bind| {
            binds.push(v);
            sets.push(format!("{col} = ${}", binds.len()));
        };
        let to = u.phase.unwrap_or(from);
        push("phase", Bind::Text(Some(to.as_str().to_owned())));
        if let Some(due) = u.due_at {
            push("due_at", Bind::Int(Some(due)));
        }
        if let Some(s) = u.request {
            push("request_id", Bind::Text(Some(s.request_id.clone())));
            push("status_url", Bind::Text(Some(s.status_url.clone())));
            push("response_url", Bind::Text(Some(s.response_url.clone())));
            push("cancel_url", Bind::Text(Some(s.cancel_url.clone())));
        }
        if let Some(p) = u.fal_position {
            push("fal_position", Bind::Int(p));
        }
        if let Some(s) = u.submit_sent_at {
            push("submit_sent_at", Bind::Int(s));
        }
        if let Some((code, msg)) = u.error {
            push("error_code", Bind::Text(Some(code.to_owned())));
            push("error_message", Bind::Text(Some(msg.to_owned())));
        }
        if let Some(o) = u.outputs {
            push(
                "outputs",
                Bind::Text(Some(serde_json::to_string(o).unwrap_or_default())),
            );
        }
        if let Some(seed) = u.seed {
            push("seed", Bind::Int(Some(seed)));
        }
        if let Some(a) = u.attempts {
            push("attempts", Bind::Int(Some(a)));
        }
        if to.is_terminal() {
            push("completed_at", Bind::Int(Some(now_ms())));
        }
        if to == Phase::Queued {
            push("started_at", Bind::Int(None));
        }
        match u.keep_lease_until {
            Some(until) => push("lease_until", Bind::Int(Some(until))),
            None => {
                push("lease_until", Bind::Int(Some(0)));
                push("lease_owner", Bind::Text(None));
            }
        }
        let n = binds.len();
        let sql = format!(
            "UPDATE generations SET {} WHERE id = ${} AND phase = ${} AND lease_owner = ${}",
            sets.join(", "),
            n + 1,
            n + 2,
            n + 3
        );
        let mut tx = self.writer().begin().await?;
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = match b {
                Bind::Text(v) => q.bind(v),
                Bind::Int(v) => q.bind(v),
            };
        }
        let done = q
            .bind(&row.id)
            .bind(from.as_str())
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !done {
            tx.rollback().await?;
            return Ok(false);
        }
        if from.holds_slot() && !to.holds_slot() {
            release_slot(&mut tx, &row.user_id).await?;
        }
        if to.is_terminal() {
            let charged = if to == Phase::Completed {
                u.charge.unwrap_or(0)
            } else {
                0
            };
            settle(&mut tx, row, charged).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Ends a job that is not yet final (cancel, watchdog) whatever worker holds it; returns
    /// the row as it was before, or `None` when it had already ended.
    pub async fn finish_unheld(
        &self,
        id: &str,
        to: Phase,
        error: (&str, &str),
    ) -> Result<Option<GenRow>, sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        let before: Option<GenRow> = sqlx::query_as(&format!(
            "UPDATE generations SET phase = phase WHERE id = $1 \
             AND phase IN ('queued', 'submitting', 'submitted', 'finishing') RETURNING {COLUMNS}"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(before) = before else {
            tx.rollback().await?;
            return Ok(None);
        };
        sqlx::query(
            "UPDATE generations SET phase = $1, error_code = $2, error_message = $3, \
             completed_at = $4, lease_owner = NULL, lease_until = 0, fal_position = NULL WHERE id = $5",
        )
        .bind(to.as_str())
        .bind(error.0)
        .bind(error.1)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if before.phase().holds_slot() {
            release_slot(&mut tx, &before.user_id).await?;
        }
        settle(&mut tx, &before, 0).await?;
        tx.commit().await?;
        Ok(Some(before))
    }

    /// Running jobs started before `started_before` (the watchdog's candidates).
    pub async fn stuck_generations(&self, started_before: i64) -> Result<Vec<GenRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM generations WHERE phase IN ('submitting', 'submitted', 'finishing') \
             AND started_at < $1 LIMIT 100"
        ))
        .bind(started_before)
        .fetch_all(self.pool())
        .await
    }

    /// Records a fal webhook (the first delivery of a request id wins) and makes its job due.
    /// Returns whether this delivery was new.
    pub async fn record_fal_webhook(
        &self,
        request_id: &str,
        body: &str,
    ) -> Result<bool, sqlx::Error> {
        let new = sqlx::query(
            "INSERT INTO fal_inbox (request_id, body, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(request_id)
        .bind(body)
        .bind(now_ms())
        .execute(self.writer())
        .await?
        .rows_affected()
            == 1;
        if new {
            self.make_due(request_id).await?;
        }
        Ok(new)
    }

    /// Makes the submitted job of `request_id` due now (its webhook came).
    pub async fn make_due(&self, request_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE generations SET due_at = $1 WHERE request_id = $2 AND phase = 'submitted'",
        )
        .bind(now_ms())
        .bind(request_id)
        .execute(self.writer())
        .await
        .map(|_| ())
    }

    /// The recorded webhook body of a request, if one came.
    pub async fn fal_webhook(&self, request_id: &str) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT body FROM fal_inbox WHERE request_id = $1")
                .bind(request_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(b,)| b))
    }
}

/// Ends the credit hold of a job reaching its final phase, in the transaction that moves it
/// there (which happens once, so the hold is settled once): `charged` credits are spent, the
/// rest is released. Jobs from before the ledger hold nothing.
async fn settle(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    row: &GenRow,
    charged: i64,
) -> Result<(), sqlx::Error> {
    let Some(estimate) = row.credits_estimated else {
        return Ok(());
    };
    let hold_grants = row.hold_grants.unwrap_or(0);
    let cause = format!("generation:{}", row.id);
    let moved = move_credits_in(tx, &row.user_id, &cause, "generation ended", |acc| {
        let change = credits::account::settle(acc, estimate, hold_grants, charged);
        Decision::Apply(change, ())
    })
    .await?;
    if moved == Moved::Duplicate {
        tracing::error!(generation = %row.id, "credit hold was settled before; not settled again");
        return Ok(());
    }
    sqlx::query("UPDATE generations SET credits_charged = $1 WHERE id = $2")
        .bind(charged.clamp(0, estimate))
        .bind(&row.id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

async fn release_slot(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET gen_running = gen_running - 1 WHERE id = $1 AND gen_running > 0")
        .bind(user)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// A value bound to a dynamically built statement.
enum Bind {
    Text(Option<String>),
    Int(Option<i64>),
}
