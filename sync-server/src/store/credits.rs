//! Credits (S8): the per-user account row and the append-only ledger.
//!
//! Every movement goes through [`Store::move_credits`] inside a write transaction: it locks the
//! account row (an `UPDATE … RETURNING`, which also takes SQLite's write lock up front), lets the
//! caller compute the change from the exact current values, inserts the ledger rows — whose
//! unique (kind, cause) key makes a repeated cause a no-op — and writes the account. So a
//! reserve is one atomic check-and-take and the balance can never go below zero, on one SQLite
//! file or across replicas over PostgreSQL.

use super::{now_ms, Store};
use crate::credits::account::{Account, Change};
use iskra_protocol::LedgerKind;
use sqlx::{Any, FromRow, Transaction};

/// A ledger row.
#[derive(Debug, Clone, FromRow)]
pub struct LedgerRow {
    pub id: i64,
    pub user_id: String,
    pub kind: String,
    pub amount: i64,
    pub held: i64,
    pub balance_after: i64,
    pub reserved_after: i64,
    pub reason: String,
    pub cause: String,
    pub created_at: i64,
}

#[derive(FromRow)]
struct AccountRow {
    allocation: i64,
    grants: i64,
    reserved: i64,
    period_allocated: i64,
    period_end: i64,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        Account {
            allocation: r.allocation,
            grants: r.grants,
            reserved: r.reserved,
            period_allocated: r.period_allocated,
            period_end: r.period_end,
        }
    }
}

const ACCOUNT_COLUMNS: &str = "allocation, grants, reserved, period_allocated, period_end";
const LEDGER_COLUMNS: &str =
    "id, user_id, kind, amount, held, balance_after, reserved_after, reason, cause, created_at";

/// What [`Store::move_credits`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved<T> {
    /// The change was applied; the account as it is now, and the caller's value.
    Applied(Account, T),
    /// This cause was applied before: nothing changed.
    Duplicate,
    /// The caller refused (for example, not enough credits): nothing changed.
    Refused(Account),
}

/// What a movement's caller decides from the account as it is.
pub enum Decision<T> {
    Apply(Change, T),
    Refuse,
}

impl Store {
    /// The user's account, if it exists.
    pub async fn credit_account(&self, user: &str) -> Result<Option<Account>, sqlx::Error> {
        let row: Option<AccountRow> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM credit_accounts WHERE user_id = $1"
        ))
        .bind(user)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(Account::from))
    }

    /// Applies one movement in its own transaction (see [`Store::move_credits_in`]).
    pub async fn move_credits<T>(
        &self,
        user: &str,
        cause: &str,
        reason: &str,
        decide: impl FnOnce(&Account) -> Decision<T>,
    ) -> Result<Moved<T>, sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        let moved = move_credits_in(&mut tx, user, cause, reason, decide).await?;
        match moved {
            Moved::Applied(..) => tx.commit().await?,
            _ => tx.rollback().await?,
        }
        Ok(moved)
    }

    /// One page of a user's ledger, newest first, after the row id `before`.
    pub async fn ledger_page(
        &self,
        user: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<LedgerRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {LEDGER_COLUMNS} FROM credit_ledger WHERE user_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(user)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }

    /// The sums of a user's ledger: (Σ amount, Σ held) — equal to (available, reserved).
    pub async fn ledger_sums(&self, user: &str) -> Result<(i64, i64), sqlx::Error> {
        let (amount, held): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT CAST(SUM(amount) AS BIGINT), CAST(SUM(held) AS BIGINT) FROM credit_ledger \
             WHERE user_id = $1",
        )
        .bind(user)
        .fetch_one(self.pool())
        .await?;
        Ok((amount.unwrap_or(0), held.unwrap_or(0)))
    }
}

/// Applies one movement inside the caller's write transaction: locks the account row, asks
/// `decide` for the change, records its ledger rows under (kind, `cause`) and writes the
/// account. `Duplicate` when any of those rows exists already; the caller must then roll back
/// (nothing of this movement was written, but earlier statements of its transaction were).
pub async fn move_credits_in<T>(
    tx: &mut Transaction<'_, Any>,
    user: &str,
    cause: &str,
    reason: &str,
    decide: impl FnOnce(&Account) -> Decision<T>,
) -> Result<Moved<T>, sqlx::Error> {
    let now = now_ms();
    let lock = format!(
        "UPDATE credit_accounts SET updated_at = $1 WHERE user_id = $2 RETURNING {ACCOUNT_COLUMNS}"
    );
    let mut locked: Option<AccountRow> = sqlx::query_as(&lock)
        .bind(now)
        .bind(user)
        .fetch_optional(&mut **tx)
        .await?;
    if locked.is_none() {
        // First movement of this user: create the row, then lock it (a concurrent creator's
        // row is then seen as it is, not assumed empty).
        sqlx::query(
            "INSERT INTO credit_accounts (user_id, updated_at) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        locked = sqlx::query_as(&lock)
            .bind(now)
            .bind(user)
            .fetch_optional(&mut **tx)
            .await?;
    }
    let before = Account::from(locked.ok_or(sqlx::Error::RowNotFound)?);
    let (change, value) = match decide(&before) {
        Decision::Apply(change, value) => (change, value),
        Decision::Refuse => return Ok(Moved::Refused(before)),
    };
    let (mut balance, mut reserved) = (before.available(), before.reserved);
    for m in &change.movements {
        balance += m.amount;
        reserved += m.held;
        let inserted = sqlx::query(
            "INSERT INTO credit_ledger (user_id, kind, amount, held, balance_after, \
             reserved_after, reason, cause, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (kind, cause) DO NOTHING",
        )
        .bind(user)
        .bind(m.kind.as_str())
        .bind(m.amount)
        .bind(m.held)
        .bind(balance)
        .bind(reserved)
        .bind(reason)
        .bind(cause)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(Moved::Duplicate);
        }
    }
    let a = change.after;
    sqlx::query(
        "UPDATE credit_accounts SET allocation = $1, grants = $2, reserved = $3, \
         period_allocated = $4, period_end = $5 WHERE user_id = $6",
    )
    .bind(a.allocation)
    .bind(a.grants)
    .bind(a.reserved)
    .bind(a.period_allocated)
    .bind(a.period_end)
    .bind(user)
    .execute(&mut **tx)
    .await?;
    Ok(Moved::Applied(a, value))
}

impl LedgerRow {
    pub fn kind(&self) -> LedgerKind {
        self.kind.parse().unwrap_or(LedgerKind::Grant)
    }
}
