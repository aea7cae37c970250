//! What must hold after a run, read back from the database. For every user: the ledger's sums
//! equal the account (`Store::ledger_sums` against `Store::credit_account`), the account is
//! what the counted movements make it (nothing reserved, the balance down by what was
//! charged), no bucket and no row's `balance_after` or `reserved_after` went below zero, and
//! every counted movement is one ledger row. And, on its own account, that 50 reserves at
//! once against credits for exactly 10 jobs take exactly 10.

use super::payer::hold;
use anyhow::{ensure, Context, Result};
use futures::future::try_join_all;
use iskra_server::credits;
use iskra_server::store::credits::Moved;
use iskra_server::store::Store;

/// What a user's account should show after the run.
pub struct Expected {
    pub user: String,
    /// Available credits before the run.
    pub start: i64,
    /// Credits charged by the run.
    pub charged: i64,
    /// Reserve, charge and release movements applied.
    pub movements: u64,
}

/// What the ledger check found.
pub struct Summary {
    pub users: usize,
    /// Reserve, charge and release rows.
    pub rows: i64,
    /// The lowest `balance_after` and `reserved_after` of any row.
    pub lowest: (i64, i64),
}

/// Checks every user's account and ledger against `expected`.
pub async fn ledger(store: &Store, expected: &[Expected]) -> Result<Summary> {
    let mut summary = Summary {
        users: expected.len(),
        rows: 0,
        lowest: (i64::MAX, i64::MAX),
    };
    for e in expected {
        let user = &e.user;
        let acc = store
            .credit_account(user)
            .await?
            .with_context(|| format!("{user} has no account"))?;
        let sums = store.ledger_sums(user).await?;
        ensure!(
            sums == (acc.available(), acc.reserved),
            "{user}: ledger sums {sums:?}, account {acc:?}"
        );
        ensure!(
            acc.allocation >= 0 && acc.grants >= 0 && acc.reserved == 0,
            "{user}: account {acc:?} after every hold was settled"
        );
        ensure!(
            acc.available() == e.start - e.charged,
            "{user}: {} available, {} before and {} charged",
            acc.available(),
            e.start,
            e.charged
        );
        let (rows,): (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM credit_ledger WHERE user_id = $1 \
             AND kind IN ('reserve', 'charge', 'release')",
        )
        .bind(user)
        .fetch_one(store.pool())
        .await?;
        ensure!(
            u64::try_from(rows)? == e.movements,
            "{user}: {rows} ledger rows for {} movements",
            e.movements
        );
        let (balance, reserved): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT CAST(MIN(balance_after) AS BIGINT), CAST(MIN(reserved_after) AS BIGINT) \
             FROM credit_ledger WHERE user_id = $1",
        )
        .bind(user)
        .fetch_one(store.pool())
        .await?;
        let lowest = (balance.unwrap_or(0), reserved.unwrap_or(0));
        ensure!(
            lowest.0 >= 0 && lowest.1 >= 0,
            "{user}: a row went below zero {lowest:?}"
        );
        summary.rows += rows;
        summary.lowest = (
            summary.lowest.0.min(lowest.0),
            summary.lowest.1.min(lowest.1),
        );
    }
    Ok(summary)
}

/// Reserves at once in the overdraft check.
const AT_ONCE: i64 = 50;
/// Jobs the overdraft account can pay for.
const AFFORDABLE: i64 = 10;

/// [`AT_ONCE`] concurrent reserves of `price` against a new account granted credits for
/// [`AFFORDABLE`] jobs: exactly that many are applied, the rest refused, the balance ends at
/// zero and the ledger sums to the account. Returns the line for the report.
pub async fn overdraft(store: &Store, price: i64) -> Result<String> {
    let user = "bench-credits-overdraft";
    let credits = AFFORDABLE * price;
    store.ensure_user(user, None).await?;
    let granted = credits::grant_in(store, user, credits, "bench", "bench:grant:overdraft").await?;
    ensure!(granted, "the overdraft account's grant was not applied");
    let tries = (0..AT_ONCE).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let cause = format!("bench:overdraft:{i}");
            store
                .move_credits(user, &cause, "bench job submitted", hold(price))
                .await
        })
    });
    let outcomes = try_join_all(tries).await?;
    let (mut applied, mut refused) = (0, 0);
    for outcome in outcomes {
        match outcome? {
            Moved::Applied(..) => applied += 1,
            Moved::Refused(_) => refused += 1,
            Moved::Duplicate => anyhow::bail!("a distinct cause was a duplicate"),
        }
    }
    let acc = store.credit_account(user).await?.context("no account")?;
    let sums = store.ledger_sums(user).await?;
    ensure!(
        (applied, refused) == (AFFORDABLE, AT_ONCE - AFFORDABLE),
        "{applied} reserves applied, {refused} refused"
    );
    ensure!(
        acc.available() == 0 && acc.reserved == credits && sums == (0, credits),
        "after the overdraft: account {acc:?}, ledger sums {sums:?}"
    );
    Ok(format!(
        "{AT_ONCE} reserves of {price} at once against {credits} credits: {applied} applied, \
         {refused} refused; balance {}, reserved {}, ledger sums {sums:?}",
        acc.available(),
        acc.reserved
    ))
}
