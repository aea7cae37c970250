//! What each Stripe event does (see docs/api.md, "Billing"). Every effect is idempotent on its
//! own — a customer link is inserted once, a subscription changes only for a newer event, the
//! tier is recomputed from the subscriptions, credits are replenished once per invoice (the
//! ledger's `invoice:<id>` cause) — so an event handled twice or concurrently changes nothing
//! the second time, and the event id is recorded only after its effects are stored.

use super::event::{CheckoutSession, Event, EventError, Invoice, InvoiceLine, Subscription};
use super::store::SubscriptionState;
use crate::credits::{self, Replenish};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use iskra_protocol::events::ServerEvent;
use iskra_protocol::{BillingStatus, Tier};

/// What handling an event amounted to, for the log and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its effects are stored (or it needed none).
    Applied,
    /// Handled before; nothing was done.
    Duplicate,
    /// About nothing Iskra knows (another user's customer, an unknown price, a type it does
    /// not handle); recorded, nothing changed.
    Ignored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
        }
    }
}

impl From<EventError> for ApiError {
    fn from(e: EventError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

/// Handles a verified event once per event id.
pub async fn handle(state: &AppState, event: &Event) -> ApiResult<Outcome> {
    if state.store.stripe_event_seen(&event.id).await? {
        return Ok(Outcome::Duplicate);
    }
    let outcome = match event.kind.as_str() {
        "checkout.session.completed" => checkout_completed(state, event).await?,
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => subscription_changed(state, event).await?,
        "invoice.paid" => invoice_paid(state, event).await?,
        "invoice.payment_failed" => payment_failed(state, event).await?,
        _ => Outcome::Ignored,
    };
    let new = state
        .store
        .record_stripe_event(&event.id, &event.kind, event.created)
        .await?;
    Ok(if new { outcome } else { Outcome::Duplicate })
}

/// The plan a Stripe price stands for, by the configured price ids.
fn plan_of(state: &AppState, price: &str) -> Option<Tier> {
    let c = &state.config;
    if c.stripe_price_pro.as_deref() == Some(price) {
        Some(Tier::Pro)
    } else if c.stripe_price_enterprise.as_deref() == Some(price) {
        Some(Tier::Enterprise)
    } else {
        None
    }
}

fn rank(plan: Tier) -> u8 {
    match plan {
        Tier::Free => 0,
        Tier::Pro => 1,
        Tier::Enterprise => 2,
    }
}

/// The user an event is about: the owner of its customer, else the user its metadata names
/// (then the customer is linked to them for later events).
async fn find_user(
    state: &AppState,
    event: &Event,
    customer: Option<&str>,
    named: Option<&str>,
) -> ApiResult<Option<String>> {
    if let Some(c) = customer {
        if let Some(user) = state.store.stripe_customer_user(c).await? {
            return Ok(Some(user));
        }
    }
    let Some(named) = named else {
        tracing::info!(event = %event.id, kind = %event.kind, customer, "Stripe event about no known user");
        return Ok(None);
    };
    if state.store.user(named).await?.is_none() {
        tracing::info!(event = %event.id, kind = %event.kind, user = named, "Stripe event names an unknown user");
        return Ok(None);
    }
    match customer {
        Some(c) => link(state, event, c, named).await,
        None => Ok(Some(named.to_owned())),
    }
}

/// Links a customer to a user; the owner it ends up with (the first link wins).
async fn link(
    state: &AppState,
    event: &Event,
    customer: &str,
    user: &str,
) -> ApiResult<Option<String>> {
    let owner = state.store.link_stripe_customer(customer, user).await?;
    if owner.as_deref().is_some_and(|o| o != user) {
        tracing::warn!(event = %event.id, customer, user, "Stripe customer already belongs to another user");
    }
    Ok(owner)
}

/// `checkout.session.completed`: links the customer to the user who started the checkout.
/// Credits come with the invoice, never from here.
async fn checkout_completed(state: &AppState, event: &Event) -> ApiResult<Outcome> {
    let session: CheckoutSession = event.object("checkout.session")?;
    let (Some(user), Some(customer)) = (session.user_id(), session.customer.as_ref()) else {
        tracing::info!(event = %event.id, session = %session.id, "checkout without user or customer");
        return Ok(Outcome::Ignored);
    };
    if state.store.user(user).await?.is_none() {
        tracing::info!(event = %event.id, user, "checkout for an unknown user");
        return Ok(Outcome::Ignored);
    }
    link(state, event, customer.id(), user).await?;
    Ok(Outcome::Applied)
}

/// `customer.subscription.created|updated|deleted`: records the subscription's state when the
/// event is newer than the last one applied (deleted is final), then settles the user's tier.
async fn subscription_changed(state: &AppState, event: &Event) -> ApiResult<Outcome> {
    let sub: Subscription = event.object("subscription")?;
    let deleted = event.kind == "customer.subscription.deleted";
    let price = sub.price_id().unwrap_or_default();
    let plan = match plan_of(state, price) {
        Some(plan) => plan,
        // The end of a subscription counts whatever its price.
        None if deleted => Tier::Free,
        None => {
            tracing::warn!(event = %event.id, subscription = %sub.id, price, "subscription with a price not configured as a plan; ignored");
            return Ok(Outcome::Ignored);
        }
    };
    let customer = sub.customer.id();
    let Some(user) = find_user(state, event, Some(customer), sub.metadata.user_id()).await? else {
        return Ok(Outcome::Ignored);
    };
    let event_rank = match event.kind.as_str() {
        "customer.subscription.created" => 0,
        "customer.subscription.updated" => 1,
        _ => 2,
    };
    let applied = state
        .store
        .apply_subscription(&SubscriptionState {
            subscription_id: &sub.id,
            user_id: &user,
            customer_id: customer,
            price_id: price,
            plan,
            status: &sub.status,
            ended: deleted,
            event_created: event.created,
            event_rank,
            event_id: &event.id,
        })
        .await?;
    if !applied {
        tracing::info!(event = %event.id, subscription = %sub.id, "older than what is applied, or the subscription ended; ignored");
    }
    // Settled every time, so a delivery that stopped halfway is completed by the next one.
    if state.store.settle_tier(&user).await? {
        announce_tier(state, &user).await;
    }
    if deleted && state.store.live_subscriptions(&user).await? == 0 {
        state
            .store
            .set_billing_status(&user, BillingStatus::Canceled, event.created)
            .await?;
    }
    Ok(if applied {
        Outcome::Applied
    } else {
        Outcome::Ignored
    })
}

/// Tells the user's devices that the tier changed: new limits and a new plan allocation.
async fn announce_tier(state: &AppState, user: &str) {
    match state.store.user(user).await {
        Ok(Some(row)) => match crate::quota::for_user(state, &row).await {
            Ok(quota) => state
                .events
                .publish(user, ServerEvent::QuotaUpdated { quota }),
            Err(e) => tracing::warn!(error = %e, user, "quota.updated not sent"),
        },
        Ok(None) => return,
        Err(e) => tracing::warn!(error = %e, user, "quota.updated not sent"),
    }
    credits::announce(state, user).await;
}

/// The plan an invoice pays for and the line that says so: the best configured plan among
/// its subscription lines that charge something (all of them when none does, e.g. a 100 %
/// discount); for a prorated change that is the new price, not the credited old one.
fn invoice_plan<'a>(state: &AppState, invoice: &'a Invoice) -> Option<(Tier, &'a InvoiceLine)> {
    let lines: Vec<_> = invoice
        .lines
        .data
        .iter()
        .filter(|l| l.from_subscription())
        .filter_map(|l| Some((plan_of(state, l.price_id()?)?, l)))
        .collect();
    let best = |charged_only: bool| {
        lines
            .iter()
            .filter(|(_, l)| !charged_only || l.amount > 0)
            .max_by_key(|(plan, _)| rank(*plan))
            .copied()
    };
    best(true).or_else(|| best(false))
}

/// `invoice.paid` — and only it — replenishes credits, once per invoice: a new period for the
/// first invoice of a subscription and each renewal, a top-up to the new plan's amount for a
/// prorated change. An invoice that is not paid grants nothing.
async fn invoice_paid(state: &AppState, event: &Event) -> ApiResult<Outcome> {
    let invoice: Invoice = event.object("invoice")?;
    if !invoice.is_paid() {
        tracing::warn!(event = %event.id, invoice = %invoice.id, status = ?invoice.status, "invoice.paid for an invoice that is not paid; nothing granted");
        return Ok(Outcome::Ignored);
    }
    let customer = invoice.customer.as_ref().map(|c| c.id());
    let Some(user) = find_user(state, event, customer, invoice.user_id()).await? else {
        return Ok(Outcome::Ignored);
    };
    state
        .store
        .set_billing_status(&user, BillingStatus::Active, event.created)
        .await?;
    let reason = invoice.billing_reason.as_deref().unwrap_or_default();
    let Some((plan, line)) = invoice_plan(state, &invoice) else {
        tracing::info!(event = %event.id, invoice = %invoice.id, "paid invoice for no configured plan; no credits");
        return Ok(Outcome::Ignored);
    };
    let how = match reason {
        "subscription_create" | "subscription_cycle" => {
            let Some(period) = line.period else {
                return Err(ApiError::BadRequest(format!(
                    "invoice {} has no period on its subscription line",
                    invoice.id
                )));
            };
            Replenish::NewPeriod {
                ends_at_ms: period.end.saturating_mul(1000),
            }
        }
        "subscription_update" => Replenish::TopUp,
        other => {
            tracing::info!(event = %event.id, invoice = %invoice.id, reason = other, "paid invoice of this kind grants no credits");
            return Ok(Outcome::Ignored);
        }
    };
    let cause = format!("invoice:{}", invoice.id);
    // Announces `credits.updated` when it applies.
    credits::replenish(state, &user, plan, &cause, how).await?;
    Ok(Outcome::Applied)
}

/// `invoice.payment_failed`: shown in `/v1/me` as `billingStatus: payment_failed`.
async fn payment_failed(state: &AppState, event: &Event) -> ApiResult<Outcome> {
    let invoice: Invoice = event.object("invoice")?;
    let customer = invoice.customer.as_ref().map(|c| c.id());
    let Some(user) = find_user(state, event, customer, invoice.user_id()).await? else {
        return Ok(Outcome::Ignored);
    };
    state
        .store
        .set_billing_status(&user, BillingStatus::PaymentFailed, event.created)
        .await?;
    Ok(Outcome::Applied)
}
