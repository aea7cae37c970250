//! The SQL of the account life cycle: Clerk deliveries recorded by `svix-id` together with
//! what they change (one transaction, so a delivery is applied exactly once), the
//! `user_deletions` record and its lease, and the batched deletes of a user's rows.
//!
//! Deletes go in batches of [`BATCH`] rows (projects take their elements and change log with
//! them), so deleting a large account never holds the write lock for long.

use super::clerk::{ClerkEvent, UserProfile};
use crate::store::{now_ms, Store};

/// Rows (or projects) deleted per statement.
pub const BATCH: i64 = 200;

/// Where a deletion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionPhase {
    /// The user is refused; their data is being deleted.
    Deleting,
    /// Everything is deleted; the last sweep is due at the record's `due_at`.
    Settling,
    Done,
}

impl DeletionPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deleting => "deleting",
            Self::Settling => "settling",
            Self::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "settling" => Self::Settling,
            "done" => Self::Done,
            _ => Self::Deleting,
        }
    }
}

/// What a Clerk delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// This `svix-id` was processed before: nothing changed.
    Repeat,
    /// The user's email and name were written (the user created if absent).
    ProfileWritten,
    /// The profile was older than the one applied last, or the user is deleted: not applied.
    ProfileSkipped,
    /// The deletion was recorded now.
    DeletionRecorded,
    /// The user's deletion had been recorded already.
    DeletionKnown,
    /// A type Iskra does not act on.
    Ignored,
}

/// Phases in which a job still runs or waits (see `store::generations`).
const ACTIVE_PHASES: &str = "('queued', 'submitting', 'submitted', 'finishing')";

impl Store {
    /// Records the delivery `svix_id` and applies `event`, in one transaction; a repeated
    /// `svix_id` changes nothing.
    pub async fn apply_clerk_event(
        &self,
        svix_id: &str,
        event: &ClerkEvent,
    ) -> Result<Applied, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        // The first statement writes (SQLite takes its lock up front).
        let new = sqlx::query(
            "INSERT INTO clerk_webhooks (svix_id, event_type, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (svix_id) DO NOTHING",
        )
        .bind(svix_id)
        .bind(event.type_name())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !new {
            tx.rollback().await?;
            return Ok(Applied::Repeat);
        }
        let applied = match event {
            ClerkEvent::UserChanged(profile) => {
                let deleted: Option<(String,)> =
                    sqlx::query_as("SELECT phase FROM user_deletions WHERE user_id = $1")
                        .bind(&profile.id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if deleted.is_some() {
                    Applied::ProfileSkipped
                } else if write_profile(&mut tx, profile, now).await? {
                    Applied::ProfileWritten
                } else {
                    Applied::ProfileSkipped
                }
            }
            ClerkEvent::UserDeleted { id } => {
                let recorded = sqlx::query(
                    "INSERT INTO user_deletions (user_id, phase, requested_at, due_at) \
                     VALUES ($1, 'deleting', $2, $2) ON CONFLICT (user_id) DO NOTHING",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if recorded == 1 {
                    Applied::DeletionRecorded
                } else {
                    Applied::DeletionKnown
                }
            }
            ClerkEvent::Other { .. } => Applied::Ignored,
        };
        tx.commit().await?;
        Ok(applied)
    }

    /// The phase of `user`'s deletion, if the account was deleted.
    pub async fn deletion_phase(&self, user: &str) -> Result<Option<DeletionPhase>, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT phase FROM user_deletions WHERE user_id = $1")
                .bind(user)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(p,)| DeletionPhase::parse(&p)))
    }

    /// Deletions a process may work on now: unfinished or with a due sweep, and unclaimed.
    pub async fn due_deletions(&self, limit: i64) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT user_id FROM user_deletions WHERE phase IN ('deleting', 'settling') \
             AND due_at <= $1 AND lease_until < $1 ORDER BY due_at LIMIT $2",
        )
        .bind(now_ms())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    /// Claims `user`'s deletion for `owner` until `until` if it is due and nobody holds it;
    /// returns its phase.
    pub async fn claim_deletion(
        &self,
        user: &str,
        owner: &str,
        until: i64,
    ) -> Result<Option<DeletionPhase>, sqlx::Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "UPDATE user_deletions SET lease_owner = $2, lease_until = $3 WHERE user_id = $1 \
             AND phase IN ('deleting', 'settling') AND due_at <= $4 AND lease_until < $4 \
             RETURNING phase",
        )
        .bind(user)
        .bind(owner)
        .bind(until)
        .bind(now_ms())
        .fetch_optional(self.writer())
        .await?;
        Ok(row.map(|(p,)| DeletionPhase::parse(&p)))
    }

    /// Extends `owner`'s claim; false when it no longer holds it.
    pub async fn renew_deletion(
        &self,
        user: &str,
        owner: &str,
        until: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(sqlx::query(
            "UPDATE user_deletions SET lease_until = $3 WHERE user_id = $1 AND lease_owner = $2",
        )
        .bind(user)
        .bind(owner)
        .bind(until)
        .execute(self.writer())
        .await?
        .rows_affected()
            == 1)
    }

    /// Moves `owner`'s deletion to `phase`, next due at `due_at`, releasing the claim; false
    /// when `owner` no longer holds it.
    pub async fn advance_deletion(
        &self,
        user: &str,
        owner: &str,
        phase: DeletionPhase,
        due_at: i64,
    ) -> Result<bool, sqlx::Error> {
        let finished = (phase == DeletionPhase::Done).then(now_ms);
        Ok(sqlx::query(
            "UPDATE user_deletions SET phase = $3, due_at = $4, finished_at = $5, \
             lease_owner = NULL, lease_until = 0 WHERE user_id = $1 AND lease_owner = $2",
        )
        .bind(user)
        .bind(owner)
        .bind(phase.as_str())
        .bind(due_at)
        .bind(finished)
        .execute(self.writer())
        .await?
        .rows_affected()
            == 1)
    }

    /// The user's generations that still run or wait.
    pub async fn active_generation_ids(&self, user: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT id FROM generations WHERE user_id = $1 AND phase IN {ACTIVE_PHASES}"
        ))
        .bind(user)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Up to [`BATCH`] of the user's asset ids.
    pub async fn asset_id_batch(&self, user: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT sha256 FROM assets WHERE user_id = $1 ORDER BY sha256 LIMIT $2")
                .bind(user)
                .bind(BATCH)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }

    /// Deletes the asset rows `shas` of the user (their blobs are gone already).
    pub async fn delete_asset_rows(&self, user: &str, shas: &[String]) -> Result<(), sqlx::Error> {
        if shas.is_empty() {
            return Ok(());
        }
        let params: Vec<String> = (2..shas.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "DELETE FROM assets WHERE user_id = $1 AND sha256 IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(user);
        for sha in shas {
            q = q.bind(sha);
        }
        q.execute(self.writer()).await.map(|_| ())
    }

    /// Deletes up to [`BATCH`] of the user's rows of `table` (keyed by `key` within the
    /// user); returns how many went. Projects take their elements and change log along.
    pub async fn delete_user_batch(
        &self,
        table: OwnedTable,
        user: &str,
    ) -> Result<u64, sqlx::Error> {
        let (table, key) = table.name_and_key();
        let sql = format!(
            "DELETE FROM {table} WHERE user_id = $1 AND {key} IN \
             (SELECT {key} FROM {table} WHERE user_id = $1 LIMIT $2)"
        );
        Ok(sqlx::query(&sql)
            .bind(user)
            .bind(BATCH)
            .execute(self.writer())
            .await?
            .rows_affected())
    }

    /// Deletes what is left of the user in one transaction: the user row (every table that
    /// references it cascades), the idempotency records (which do not reference it) and fal's
    /// recorded webhooks of the user's jobs.
    pub async fn purge_user(&self, user: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("DELETE FROM idempotency WHERE user_id = $1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM fal_inbox WHERE request_id IN \
             (SELECT request_id FROM generations WHERE user_id = $1 AND request_id IS NOT NULL)",
        )
        .bind(user)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Forgets Clerk deliveries received before `before` (Svix stops retrying long before).
    pub async fn prune_clerk_deliveries(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query("DELETE FROM clerk_webhooks WHERE received_at < $1")
                .bind(before)
                .execute(self.writer())
                .await?
                .rows_affected(),
        )
    }
}

/// Writes a Clerk profile unless a newer one was applied; creates the user when absent.
async fn write_profile(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    p: &UserProfile,
    now: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO users (id, email, name, tier, created_at, clerk_updated_at) \
         VALUES ($1, $2, $3, 'free', $4, $5) \
         ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, \
         clerk_updated_at = excluded.clerk_updated_at \
         WHERE users.clerk_updated_at IS NULL OR users.clerk_updated_at <= excluded.clerk_updated_at",
    )
    .bind(&p.id)
    .bind(&p.email)
    .bind(&p.name)
    .bind(now)
    .bind(p.version)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Per-user tables deleted in batches before the user row (the rest cascade from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnedTable {
    /// With their elements and change log.
    Projects,
    Ops,
}

impl OwnedTable {
    fn name_and_key(self) -> (&'static str, &'static str) {
        match self {
            Self::Projects => ("projects", "id"),
            Self::Ops => ("ops", "op_id"),
        }
    }
}
