//! `Idempotency-Key` records: the first response to a key is stored and replayed for repeats.
//!
//! A key is claimed before the work runs (a row with no status), so two concurrent requests with
//! the same key cannot both do the work: the second waits for the first. The stored fingerprint
//! (method, path, body hash) refuses the same key reused for a different request. A claim
//! whose request cannot still be running (older than the request timeout allows: its process
//! died, or the request was cut off) is taken over by the next request with the key; work
//! whose effect must not happen twice completes its key in the transaction that makes the
//! effect (see `generations::insert_generation_holding`), so a takeover only ever redoes work
//! that left nothing behind.

use super::{now_ms, Store};

/// Longest `Idempotency-Key` accepted (docs/api.md).
pub const MAX_KEY_LEN: usize = 255;

/// What the store knows about a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The key is new and now claimed by this request.
    Fresh,
    /// A finished request with this key: replay its status and body.
    Replay { status: u16, body: String },
    /// Another request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

impl Store {
    /// Claims `key` for a request with `fingerprint`, or reports what happened to it before;
    /// an unfinished claim made before `stale_before` (Unix ms) is taken over.
    pub async fn claim_idempotency(
        &self,
        user: &str,
        key: &str,
        fingerprint: &str,
        stale_before: i64,
    ) -> Result<Claim, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency (user_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, key) DO NOTHING",
        )
        .bind(user)
        .bind(key)
        .bind(fingerprint)
        .bind(now_ms())
        .execute(self.writer())
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Fresh);
        }
        let row: Option<(String, Option<i64>, Option<String>, i64)> = sqlx::query_as(
            "SELECT fingerprint, status, body, created_at FROM idempotency \
             WHERE user_id = $1 AND key = $2",
        )
        .bind(user)
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            None => Claim::InProgress,
            Some((fp, _, _, _)) if fp != fingerprint => Claim::Mismatch,
            Some((_, Some(status), Some(body), _)) => Claim::Replay {
                status: status as u16,
                body,
            },
            Some((_, _, _, claimed_at)) if claimed_at < stale_before => {
                // Only one taker wins: the claim time moves on with the takeover.
                let taken = sqlx::query(
                    "UPDATE idempotency SET created_at = $1 WHERE user_id = $2 AND key = $3 \
                     AND status IS NULL AND created_at = $4",
                )
                .bind(now_ms())
                .bind(user)
                .bind(key)
                .bind(claimed_at)
                .execute(self.writer())
                .await?
                .rows_affected();
                if taken == 1 {
                    Claim::Fresh
                } else {
                    Claim::InProgress
                }
            }
            Some(_) => Claim::InProgress,
        })
    }

    /// Stores the response of a claimed key.
    pub async fn complete_idempotency(
        &self,
        user: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE idempotency SET status = $1, body = $2 WHERE user_id = $3 AND key = $4")
            .bind(i64::from(status))
            .bind(body)
            .bind(user)
            .bind(key)
            .execute(self.writer())
            .await
            .map(|_| ())
    }

    /// Releases a claim whose request failed, so the client may retry with the same key.
    pub async fn release_idempotency(&self, user: &str, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM idempotency WHERE user_id = $1 AND key = $2 AND status IS NULL")
            .bind(user)
            .bind(key)
            .execute(self.writer())
            .await
            .map(|_| ())
    }
}
