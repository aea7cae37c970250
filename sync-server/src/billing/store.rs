//! Billing's SQL (migration `20261201000002_billing.sql`): handled event ids, the link from
//! Stripe customers to users, subscriptions with the order key of the last event applied, and
//! the user's tier and billing status as they follow from those. Every write is idempotent, so
//! an event handled twice — redelivered, or by two replicas at once — changes nothing the
//! second time.

use crate::store::{now_ms, Store};
use iskra_protocol::{BillingStatus, Tier};

/// Subscription statuses in which the plan is in force (`past_due`: Stripe is still retrying
/// the payment, the plan stays until it gives up and the subscription ends or turns `unpaid`).
pub const LIVE_STATUSES: &str = "'active', 'trialing', 'past_due'";

/// A subscription as one event shows it.
#[derive(Debug, Clone)]
pub struct SubscriptionState<'a> {
    pub subscription_id: &'a str,
    pub user_id: &'a str,
    pub customer_id: &'a str,
    pub price_id: &'a str,
    pub plan: Tier,
    pub status: &'a str,
    /// `customer.subscription.deleted`: the subscription is over for good.
    pub ended: bool,
    /// The event's order key: `created`, the type's rank, the event id.
    pub event_created: i64,
    pub event_rank: i64,
    pub event_id: &'a str,
}

impl Store {
    /// Whether event `id` was handled before.
    pub async fn stripe_event_seen(&self, id: &str) -> Result<bool, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT event_id FROM stripe_events WHERE event_id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }

    /// Records event `id` as handled; false when it already was.
    pub async fn record_stripe_event(
        &self,
        id: &str,
        kind: &str,
        created: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO stripe_events (event_id, event_type, created, received_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(id)
        .bind(kind)
        .bind(created)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The user a Stripe customer belongs to.
    pub async fn stripe_customer_user(
        &self,
        customer: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT user_id FROM stripe_customers WHERE customer_id = $1")
                .bind(customer)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| r.0))
    }

    /// Links `customer` to `user` unless it is linked already; returns the user it belongs to
    /// (another one when it was linked to someone else first).
    pub async fn link_stripe_customer(
        &self,
        customer: &str,
        user: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query(
            "INSERT INTO stripe_customers (customer_id, user_id, created_at) \
             SELECT $1, id, $3 FROM users WHERE id = $2 \
             ON CONFLICT (customer_id) DO NOTHING",
        )
        .bind(customer)
        .bind(user)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        self.stripe_customer_user(customer).await
    }

    /// The user's Stripe customer (the most recently linked one).
    pub async fn stripe_customer_of(&self, user: &str) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT customer_id FROM stripe_customers WHERE user_id = $1 \
             ORDER BY created_at DESC, customer_id DESC LIMIT 1",
        )
        .bind(user)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.0))
    }

    /// Applies what an event says about a subscription when it is newer than the last event
    /// applied to it (or ends it); an ended subscription never changes again. True when applied.
    pub async fn apply_subscription(&self, s: &SubscriptionState<'_>) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO stripe_subscriptions (subscription_id, user_id, customer_id, price_id, \
             plan, status, ended, event_created, event_rank, event_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (subscription_id) DO UPDATE SET customer_id = excluded.customer_id, \
             price_id = excluded.price_id, plan = excluded.plan, status = excluded.status, \
             ended = excluded.ended, event_created = excluded.event_created, \
             event_rank = excluded.event_rank, event_id = excluded.event_id, \
             updated_at = excluded.updated_at \
             WHERE stripe_subscriptions.ended = 0 AND (excluded.ended = 1 \
               OR stripe_subscriptions.event_created < excluded.event_created \
               OR (stripe_subscriptions.event_created = excluded.event_created \
                 AND (stripe_subscriptions.event_rank < excluded.event_rank \
                   OR (stripe_subscriptions.event_rank = excluded.event_rank \
                     AND stripe_subscriptions.event_id < excluded.event_id))))",
        )
        .bind(s.subscription_id)
        .bind(s.user_id)
        .bind(s.customer_id)
        .bind(s.price_id)
        .bind(s.plan.as_str())
        .bind(s.status)
        .bind(i64::from(s.ended))
        .bind(s.event_created)
        .bind(s.event_rank)
        .bind(s.event_id)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets the user's tier to the best plan among their subscriptions in force (free when
    /// none is) and `subscribed` to whether one is; true when either changed.
    pub async fn settle_tier(&self, user: &str) -> Result<bool, sqlx::Error> {
        let live = format!(
            "FROM stripe_subscriptions WHERE user_id = $1 AND ended = 0 \
             AND status IN ({LIVE_STATUSES})"
        );
        let best = format!(
            "COALESCE((SELECT plan {live} \
             ORDER BY CASE plan WHEN 'enterprise' THEN 2 WHEN 'pro' THEN 1 ELSE 0 END DESC \
             LIMIT 1), 'free')"
        );
        let any = format!("(SELECT CAST(COUNT(*) AS BIGINT) {live})");
        let done = sqlx::query(&format!(
            "UPDATE users SET tier = {best}, subscribed = CASE WHEN {any} > 0 THEN 1 ELSE 0 END \
             WHERE id = $1 AND (tier <> {best} OR subscribed <> CASE WHEN {any} > 0 THEN 1 ELSE 0 END)"
        ))
        .bind(user)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many of the user's subscriptions are in force.
    pub async fn live_subscriptions(&self, user: &str) -> Result<i64, sqlx::Error> {
        let (n,): (i64,) = sqlx::query_as(&format!(
            "SELECT COUNT(*) FROM stripe_subscriptions WHERE user_id = $1 AND ended = 0 \
             AND status IN ({LIVE_STATUSES})"
        ))
        .bind(user)
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    /// Sets the user's billing status from an event created at `at` (Unix seconds), unless a
    /// later event set it already.
    pub async fn set_billing_status(
        &self,
        user: &str,
        status: BillingStatus,
        at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE users SET billing_status = $1, billing_status_at = $2 \
             WHERE id = $3 AND billing_status_at <= $2",
        )
        .bind(status.as_str())
        .bind(at)
        .bind(user)
        .execute(self.writer())
        .await
        .map(|_| ())
    }
}
