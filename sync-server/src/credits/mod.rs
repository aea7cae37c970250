//! The credits service (S8): balances, the free plan's monthly allocation on first use, plan
//! replenishment from paid invoices, grants, prices, and the API views.
//!
//! Movements are computed by [`account`] and applied by the store under a row lock with a
//! unique (kind, cause) per ledger row (`store::credits`), so each happens at most once. The
//! hold of a generation is taken in the transaction that inserts it
//! (`Store::insert_generation_holding`) and settled in the one that moves it to its final phase.

pub mod account;

use crate::config::credits::{CreditSettings, PriceInput};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::credits::{Decision, LedgerRow, Moved};
use crate::store::generations::GenRow;
use crate::store::users::UserRow;
use crate::store::{now_ms, rfc3339, Store};
use account::Account;
use chrono::{Datelike, TimeZone, Utc};
use iskra_protocol::events::ServerEvent;
use iskra_protocol::{Credits, GenerationKind, GenerationParams, LedgerEntry, Tier};

/// How a plan's credits are replenished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replenish {
    /// A paid period: the unspent allocation expires and the plan amount is allocated until
    /// `ends_at_ms`.
    NewPeriod { ends_at_ms: i64 },
    /// A prorated upgrade within the period: tops the allocation up to the new plan.
    TopUp,
}

/// The price of a request (its estimate: what it asks for).
pub fn estimate(
    settings: &CreditSettings,
    kind: GenerationKind,
    model: &str,
    default_size: Option<&str>,
    params: &GenerationParams,
) -> i64 {
    settings.pricing.price(PriceInput {
        kind,
        model,
        image_size: params.image_size.as_deref().or(default_size),
        count: params.num_images.unwrap_or(1),
        duration_s: params.duration_s,
    })
}

/// What a job that produced `produced` outputs is charged (never more than its estimate).
pub fn charge_for(state: &AppState, row: &GenRow, produced: usize) -> i64 {
    let params: GenerationParams = serde_json::from_str(&row.params).unwrap_or_default();
    let kind: GenerationKind = row.kind.parse().unwrap_or(GenerationKind::TextToImage);
    let default_size = state
        .config
        .generation
        .model_by_id(&row.model)
        .and_then(|m| m.sizes.first().cloned());
    let charged = state.config.credits.pricing.price(PriceInput {
        kind,
        model: &row.model,
        image_size: params.image_size.as_deref().or(default_size.as_deref()),
        count: u32::try_from(produced).unwrap_or(u32::MAX),
        duration_s: params.duration_s,
    });
    charged.min(row.credits_estimated.unwrap_or(charged))
}

/// End of the UTC month containing `ms` (Unix ms), and the month's name (`2026-12`).
pub fn month_of(ms: i64) -> (i64, String) {
    let now = Utc
        .timestamp_millis_opt(ms)
        .single()
        .unwrap_or_else(Utc::now);
    let (y, m) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    let end = Utc
        .with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .map_or(i64::MAX, |d| d.timestamp_millis());
    (end, format!("{:04}-{:02}", now.year(), now.month()))
}

/// Whether the user's plan is allocated by the month on first use: the free plan, and a plan an
/// administrator set. A Stripe subscription's plan is allocated by its paid invoices only.
fn monthly_on_first_use(user: &UserRow) -> bool {
    user.tier() == Tier::Free || !user.subscribed()
}

/// Gives the user the month's allocation of their plan when its period has ended (first use of
/// the month; once per user and month whatever runs concurrently) — see
/// [`monthly_on_first_use`].
pub async fn refresh_period(
    store: &Store,
    settings: &CreditSettings,
    user: &UserRow,
) -> Result<(), sqlx::Error> {
    if !monthly_on_first_use(user) {
        return Ok(());
    }
    let now = now_ms();
    if let Some(acc) = store.credit_account(&user.id).await? {
        if acc.period_end > now {
            return Ok(());
        }
    }
    let (end, month) = month_of(now);
    let tier = user.tier();
    let plan = settings.plans.get(tier);
    store
        .move_credits(
            &user.id,
            &format!("period:{}:{month}", user.id),
            &format!("{} plan, {month}", tier.as_str()),
            |acc| {
                if acc.period_end > now {
                    Decision::Refuse
                } else {
                    Decision::Apply(account::new_period(acc, plan, end), ())
                }
            },
        )
        .await?;
    Ok(())
}

/// The API view of an account.
pub fn view(settings: &CreditSettings, plan: Tier, acc: &Account) -> Credits {
    Credits {
        available: acc.available(),
        reserved: acc.reserved,
        allocation: acc.allocation,
        grants: acc.grants,
        monthly_allocation: settings.plans.get(plan),
        period_ends_at: rfc3339(if acc.period_end > 0 {
            acc.period_end
        } else {
            month_of(now_ms()).0
        }),
        plan,
    }
}

/// The user's balance (`GET /v1/credits`), after a due monthly allocation.
pub async fn balance(state: &AppState, user: &UserRow) -> ApiResult<Credits> {
    refresh_period(&state.store, &state.config.credits, user).await?;
    let acc = state
        .store
        .credit_account(&user.id)
        .await?
        .unwrap_or_default();
    Ok(view(&state.config.credits, user.tier(), &acc))
}

/// Applies a plan allocation once per `cause` (`invoice:in_…`); `Ok(false)` when that cause
/// was applied before.
pub async fn replenish(
    state: &AppState,
    user: &str,
    plan: Tier,
    cause: &str,
    how: Replenish,
) -> ApiResult<bool> {
    let applied = replenish_in(&state.store, &state.config.credits, user, plan, cause, how).await?;
    if applied {
        announce(state, user).await;
    }
    Ok(applied)
}

/// [`replenish`] without events (the admin command).
pub async fn replenish_in(
    store: &Store,
    settings: &CreditSettings,
    user: &str,
    plan: Tier,
    cause: &str,
    how: Replenish,
) -> Result<bool, sqlx::Error> {
    let amount = settings.plans.get(plan);
    let reason = match how {
        Replenish::NewPeriod { .. } => format!("{} plan", plan.as_str()),
        Replenish::TopUp => format!("upgrade to the {} plan", plan.as_str()),
    };
    let moved = store
        .move_credits(user, cause, &reason, |acc| {
            let change = match how {
                Replenish::NewPeriod { ends_at_ms } => account::new_period(acc, amount, ends_at_ms),
                Replenish::TopUp => account::top_up(acc, amount),
            };
            Decision::Apply(change, ())
        })
        .await?;
    Ok(matches!(moved, Moved::Applied(..)))
}

/// Grants `amount` credits once per `cause`.
pub async fn grant(
    state: &AppState,
    user: &str,
    amount: i64,
    reason: &str,
    cause: &str,
) -> ApiResult<bool> {
    if amount <= 0 {
        return Err(ApiError::field(
            "amount",
            "must be a positive number of credits",
        ));
    }
    let applied = grant_in(&state.store, user, amount, reason, cause).await?;
    if applied {
        announce(state, user).await;
    }
    Ok(applied)
}

/// [`grant`] without events (the admin command).
pub async fn grant_in(
    store: &Store,
    user: &str,
    amount: i64,
    reason: &str,
    cause: &str,
) -> Result<bool, sqlx::Error> {
    let moved = store
        .move_credits(user, cause, reason, |acc| {
            Decision::Apply(account::grant(acc, amount), ())
        })
        .await?;
    Ok(matches!(moved, Moved::Applied(..)))
}

/// Publishes `credits.updated` for the user (best effort: the balance is in the database).
pub async fn announce(state: &AppState, user: &str) {
    let tier = match state.store.user(user).await {
        Ok(Some(u)) => u.tier(),
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "credits update not announced");
            return;
        }
    };
    match state.store.credit_account(user).await {
        Ok(acc) => state.events.publish(
            user,
            ServerEvent::CreditsUpdated {
                credits: view(&state.config.credits, tier, &acc.unwrap_or_default()),
            },
        ),
        Err(e) => tracing::warn!(error = %e, "credits update not announced"),
    }
}

/// The API view of a ledger row.
pub fn entry(row: &LedgerRow) -> LedgerEntry {
    LedgerEntry {
        id: row.id,
        kind: row.kind(),
        amount: row.amount,
        held: row.held,
        balance_after: row.balance_after,
        reserved_after: row.reserved_after,
        reason: row.reason.clone(),
        cause: row.cause.clone(),
        created_at: rfc3339(row.created_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_end_at_the_next_first_at_midnight_utc() {
        let dec = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        let (end, name) = month_of(dec.timestamp_millis());
        assert_eq!(name, "2026-12");
        assert_eq!(
            end,
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
                .unwrap()
                .timestamp_millis()
        );
    }
}
