//! Anonymous generations (S6, before sign-in): the job row (owned by the anonymous system owner,
//! holding no credits) and its capability — the SHA-256 of the requester's token and when the
//! result expires — written in one transaction; lookup by token hash; and what the sweep needs
//! to remove expired results.

use super::generations::{GenRow, NewJob};
use super::{now_ms, Store};
use iskra_protocol::Tier;

/// An anonymous result that has expired and ended: its job and the outputs it names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExpiredAnonymous {
    pub generation_id: String,
    pub outputs: Option<String>,
}

impl Store {
    /// Makes sure the system owner of anonymous jobs exists, on the enterprise tier (its
    /// storage and concurrency; it has no credits and its jobs hold none).
    pub async fn ensure_anonymous_owner(&self, owner: &str) -> Result<(), sqlx::Error> {
        if self
            .user(owner)
            .await?
            .is_some_and(|u| u.tier() == Tier::Enterprise)
        {
            return Ok(());
        }
        self.set_tier(owner, Tier::Enterprise).await
    }

    /// Queues `job` (no credit hold) with its capability, in one transaction.
    pub async fn insert_anonymous_generation(
        &self,
        job: &NewJob,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<GenRow, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO generations (id, user_id, kind, model, prompt, params, phase, due_at, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $7)",
        )
        .bind(&job.id)
        .bind(&job.user_id)
        .bind(&job.kind)
        .bind(&job.model)
        .bind(&job.prompt)
        .bind(&job.params)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO anonymous_generations (generation_id, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&job.id)
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.generation_by_id(&job.id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// The job of a capability token's hash and when it expires; `None` when unknown or
    /// expired at `now`.
    pub async fn anonymous_generation(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(GenRow, i64)>, sqlx::Error> {
        let found: Option<(String, i64)> = sqlx::query_as(
            "SELECT generation_id, expires_at FROM anonymous_generations \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some((id, expires_at)) = found else {
            return Ok(None);
        };
        Ok(self
            .generation_by_id(&id)
            .await?
            .map(|row| (row, expires_at)))
    }

    /// Up to `limit` results expired at `now` whose jobs have ended (a job still running is
    /// left to finish or to the watchdog first).
    pub async fn expired_anonymous(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<ExpiredAnonymous>, sqlx::Error> {
        sqlx::query_as(
            "SELECT a.generation_id, g.outputs FROM anonymous_generations a \
             JOIN generations g ON g.id = a.generation_id \
             WHERE a.expires_at <= $1 AND g.phase IN ('completed', 'failed', 'canceled') \
             ORDER BY a.expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }

    /// Deletes an anonymous job and its capability.
    pub async fn delete_anonymous_generation(&self, id: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("DELETE FROM anonymous_generations WHERE generation_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM generations WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Whether a job of `owner` other than `except` names output `sha` (a hex digest;
    /// identical results are one asset of the owner, shared by their jobs).
    pub async fn owner_output_in_use(
        &self,
        owner: &str,
        sha: &str,
        except: &str,
    ) -> Result<bool, sqlx::Error> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM generations WHERE user_id = $1 AND id <> $2 AND outputs LIKE $3",
        )
        .bind(owner)
        .bind(except)
        .bind(format!("%{sha}%"))
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }
}
