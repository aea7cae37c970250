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
/// Values bound per ledger row by [`move_credits_in`].
const LEDGER_INSERT_COLUMNS: usize = 9;
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
    // The ledger rows and the account in as few round trips as the backend allows: on SQLite
    // (one writer, a worker thread per connection) both statements go as one batch, and a
    // repeated (kind, cause) fails the insert, which stops the batch before the account is
    // written and undoes just that statement; on PostgreSQL (one statement per round trip),
    // `ON CONFLICT DO NOTHING` keeps the caller's transaction usable and the row count tells.
    let sqlite = tx.backend_name() == "SQLite";
    let rows = change.movements.len();
    let n = LEDGER_INSERT_COLUMNS;
    // The account's new values, bound after `start` others.
    let update = |start: usize| {
        let p: Vec<String> = (start + 1..=start + 6).map(|i| format!("${i}")).collect();
        format!(
            "UPDATE credit_accounts SET allocation = {}, grants = {}, reserved = {}, \
             period_allocated = {}, period_end = {} WHERE user_id = {}",
            p[0], p[1], p[2], p[3], p[4], p[5]
        )
    };
    let insert = (rows > 0).then(|| {
        let values = (0..rows)
            .map(|row| {
                let cols = (1..=n).map(|c| format!("${}", row * n + c));
                format!("({})", cols.collect::<Vec<_>>().join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO credit_ledger (user_id, kind, amount, held, balance_after, \
             reserved_after, reason, cause, created_at) VALUES {values}{}",
            if sqlite {
                ""
            } else {
                " ON CONFLICT (kind, cause) DO NOTHING"
            }
        )
    });
    let a = change.after;
    let (mut balance, mut reserved) = (before.available(), before.reserved);
    let ledger: Vec<LedgerValues> = change
        .movements
        .iter()
        .map(|m| {
            balance += m.amount;
            reserved += m.held;
            LedgerValues {
                kind: m.kind.as_str(),
                amount: m.amount,
                held: m.held,
                balance_after: balance,
                reserved_after: reserved,
            }
        })
        .collect();
    match insert {
        Some(insert) if sqlite => {
            let batch = format!("{insert}; {}", update(rows * n));
            let q = bind_account(
                bind_ledger(sqlx::query(&batch), &ledger, user, reason, cause, now),
                &a,
                user,
            );
            match q.execute(&mut **tx).await {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Ok(Moved::Duplicate),
                Err(e) => return Err(e),
            }
        }
        Some(insert) => {
            let inserted = bind_ledger(sqlx::query(&insert), &ledger, user, reason, cause, now)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if inserted != rows as u64 {
                return Ok(Moved::Duplicate);
            }
            bind_account(sqlx::query(&update(0)), &a, user)
                .execute(&mut **tx)
                .await?;
        }
        None => {
            bind_account(sqlx::query(&update(0)), &a, user)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(Moved::Applied(a, value))
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// One ledger row's own values (the rest is the movement's user, reason, cause and time).
struct LedgerValues {
    kind: &'static str,
    amount: i64,
    held: i64,
    balance_after: i64,
    reserved_after: i64,
}

/// Binds the values of the ledger rows `rows`, in the insert's column order.
fn bind_ledger<'q>(
    q: AnyQuery<'q>,
    rows: &[LedgerValues],
    user: &str,
    reason: &str,
    cause: &str,
    now: i64,
) -> AnyQuery<'q> {
    rows.iter().fold(q, |q, r| {
        q.bind(user.to_owned())
            .bind(r.kind)
            .bind(r.amount)
            .bind(r.held)
            .bind(r.balance_after)
            .bind(r.reserved_after)
            .bind(reason.to_owned())
            .bind(cause.to_owned())
            .bind(now)
    })
}

/// Binds the account's new values and its user, in the update's order.
fn bind_account<'q>(q: AnyQuery<'q>, a: &Account, user: &str) -> AnyQuery<'q> {
    q.bind(a.allocation)
        .bind(a.grants)
        .bind(a.reserved)
        .bind(a.period_allocated)
        .bind(a.period_end)
        .bind(user.to_owned())
}

/// Whether `e` is a unique-key violation (a repeated (kind, cause)).
fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

impl LedgerRow {
    pub fn kind(&self) -> LedgerKind {
        self.kind.parse().unwrap_or(LedgerKind::Grant)
    }
}
