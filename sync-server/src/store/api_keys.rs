//! API keys (S9): the stored form of keys (hash, prefix, scopes; never the key), their
//! revocation, the per-key request counter by UTC day and the link from a key to the
//! generations it submitted ([`KeySubmission`], written with the job).
//!
//! Counting is one upsert per request (`ON CONFLICT … DO UPDATE SET requests = requests + 1`),
//! atomic on both backends, so parallel requests are all counted exactly once. The 20-keys rule
//! is checked inside a write transaction that first touches the owner's row, which serialises
//! two creations by one user on PostgreSQL (SQLite has one writer anyway).

use super::users::UserRow;
use super::{now_ms, Store};
use sqlx::FromRow;
use std::sync::LazyLock;

/// The statement of [`Store::api_key_by_hash`] (every API-key request), built once.
static BY_HASH_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT k.id AS key_id, k.name AS key_name, k.prefix AS key_prefix, \
         k.scopes AS key_scopes, k.created_at AS key_created_at, \
         k.last_used_at AS key_last_used_at, {} \
         FROM api_keys k JOIN users u ON u.id = k.user_id \
         WHERE k.hash = $1 AND k.revoked_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM user_deletions d WHERE d.user_id = k.user_id)",
        *super::users::U_COLUMNS
    )
});

/// A key as stored.
#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl ApiKeyRow {
    /// The key's scopes.
    pub fn scopes(&self) -> Vec<String> {
        self.scopes.split_whitespace().map(str::to_owned).collect()
    }
}

/// The API key that submitted a job and the UTC day (`YYYY-MM-DD`) its use counts on.
#[derive(Debug, Clone, Copy)]
pub struct KeySubmission<'a> {
    pub key_id: &'a str,
    pub day: &'a str,
}

impl KeySubmission<'_> {
    /// Records that this key submitted `generation`, in the transaction that inserts the job
    /// (a crash leaves the job with its link, or neither; a repeat changes nothing).
    pub(crate) async fn link(
        &self,
        conn: &mut sqlx::AnyConnection,
        generation: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO api_key_jobs (generation_id, key_id, day) VALUES ($1, $2, $3) \
             ON CONFLICT (generation_id) DO NOTHING",
        )
        .bind(generation)
        .bind(self.key_id)
        .bind(self.day)
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// A key to insert.
pub struct NewKeyRow<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub hash: &'a str,
    pub scopes: &'a [String],
}

/// What an insertion did.
#[derive(Debug)]
pub enum KeyInsert {
    Created(ApiKeyRow),
    /// The user already has this many active keys.
    TooMany(i64),
}

/// A live key with its owner, as a request authenticates.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub key: ApiKeyRow,
    pub user: UserRow,
}

/// A key joined with its owner (the key's columns renamed apart from the user's).
#[derive(FromRow)]
struct KeyOwnerRow {
    key_id: String,
    key_name: String,
    key_prefix: String,
    key_scopes: String,
    key_created_at: i64,
    key_last_used_at: Option<i64>,
    #[sqlx(flatten)]
    user: UserRow,
}

/// Requests of a key in one day.
#[derive(Debug, Clone, FromRow)]
pub struct RequestCount {
    pub key_id: String,
    pub day: String,
    pub requests: i64,
}

/// A generation a key submitted, with what it made and was charged.
#[derive(Debug, Clone, FromRow)]
pub struct KeyJob {
    pub key_id: String,
    pub day: String,
    pub outputs: Option<String>,
    pub credits_charged: Option<i64>,
}

const KEY_COLUMNS: &str = "id, user_id, name, prefix, scopes, created_at, last_used_at";

impl Store {
    /// Inserts a key unless the user already has `max` active keys.
    pub async fn insert_api_key(
        &self,
        key: &NewKeyRow<'_>,
        max: i64,
    ) -> Result<KeyInsert, sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("UPDATE users SET tier = tier WHERE id = $1")
            .bind(key.user_id)
            .execute(&mut *tx)
            .await?;
        let (active,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(key.user_id)
        .fetch_one(&mut *tx)
        .await?;
        if active >= max {
            tx.rollback().await?;
            return Ok(KeyInsert::TooMany(active));
        }
        let now = now_ms();
        let scopes = key.scopes.join(" ");
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, prefix, hash, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(key.id)
        .bind(key.user_id)
        .bind(key.name)
        .bind(key.prefix)
        .bind(key.hash)
        .bind(&scopes)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(KeyInsert::Created(ApiKeyRow {
            id: key.id.to_owned(),
            user_id: key.user_id.to_owned(),
            name: key.name.to_owned(),
            prefix: key.prefix.to_owned(),
            scopes,
            created_at: now,
            last_used_at: None,
        }))
    }

    /// The user's active keys, oldest first.
    pub async fn api_keys(&self, user: &str) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL \
             ORDER BY created_at, id"
        ))
        .bind(user)
        .fetch_all(self.pool())
        .await
    }

    /// Whether `id` is a key of `user` (active or revoked).
    pub async fn owns_api_key(&self, user: &str, id: &str) -> Result<bool, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM api_keys WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }

    /// Revokes an active key of `user`; false when there is none with this id.
    pub async fn revoke_api_key(&self, user: &str, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .bind(user)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The live key with this hash and its owner, in one read: `None` when the key is unknown
    /// or revoked, or its owner's account is deleted (or being deleted).
    pub async fn api_key_by_hash(&self, hash: &str) -> Result<Option<KeyOwner>, sqlx::Error> {
        let row: Option<KeyOwnerRow> = sqlx::query_as(BY_HASH_SQL.as_str())
            .bind(hash)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| KeyOwner {
            key: ApiKeyRow {
                id: r.key_id,
                user_id: r.user.id.clone(),
                name: r.key_name,
                prefix: r.key_prefix,
                scopes: r.key_scopes,
                created_at: r.key_created_at,
                last_used_at: r.key_last_used_at,
            },
            user: r.user,
        }))
    }

    /// Counts one request of `key` on `day` and marks the key used (one transaction).
    pub async fn count_key_request(&self, key: &str, day: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO api_key_usage (key_id, day, requests) VALUES ($1, $2, 1) \
             ON CONFLICT (key_id, day) DO UPDATE SET requests = api_key_usage.requests + 1",
        )
        .bind(key)
        .bind(day)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Request counts of `user`'s keys (or of `key` only) from `from` to `to` (inclusive days).
    pub async fn key_requests(
        &self,
        user: &str,
        key: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<RequestCount>, sqlx::Error> {
        sqlx::query_as(
            "SELECT u.key_id, u.day, u.requests FROM api_key_usage u \
             JOIN api_keys k ON k.id = u.key_id \
             WHERE k.user_id = $1 AND ($2 IS NULL OR k.id = $2) AND u.day >= $3 AND u.day <= $4",
        )
        .bind(user)
        .bind(key)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
    }

    /// Generations of `user`'s keys (or of `key` only) submitted from `from` to `to`.
    pub async fn key_jobs(
        &self,
        user: &str,
        key: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<KeyJob>, sqlx::Error> {
        sqlx::query_as(
            "SELECT j.key_id, j.day, g.outputs, g.credits_charged FROM api_key_jobs j \
             JOIN api_keys k ON k.id = j.key_id JOIN generations g ON g.id = j.generation_id \
             WHERE k.user_id = $1 AND ($2 IS NULL OR k.id = $2) AND j.day >= $3 AND j.day <= $4",
        )
        .bind(user)
        .bind(key)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
    }
}
