//! Stripe objects and events as Stripe's API (version `2025-03-31.basil` and later) renders
//! them: Checkout Sessions, subscriptions, invoices with their lines, and the `event` envelope
//! that carries one of them to a webhook endpoint. Only the fields a billing integration reads
//! are filled in with meaning; the rest are present with plausible values so the shapes stay
//! realistic.

use serde_json::{json, Value};

/// The API version the fake's events claim.
pub const API_VERSION: &str = "2025-03-31.basil";

/// A new id with Stripe's prefix (`cus`, `sub`, `in`, `evt`, …), test-mode style.
pub fn new_id(prefix: &str) -> String {
    let raw = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_test_{}", &raw[..24])
}

/// What follows an id's prefix (`sub_test_abc` → `test_abc`), to name related objects.
fn suffix(id: &str) -> &str {
    id.split_once('_').map_or(id, |(_, rest)| rest)
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A monthly period starting at `start` (30 days, as the fake counts months).
pub fn month_after(start: i64) -> i64 {
    start + 30 * 24 * 3600
}

/// An event: the envelope Stripe posts to webhook endpoints.
#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    /// `customer.subscription.updated`, `invoice.paid`, …
    pub kind: String,
    /// When the event happened (Unix seconds): what orders deliveries, not when they are sent.
    pub created: i64,
    /// `data.object`.
    pub object: Value,
}

impl Event {
    /// An event of `kind` about `object`, created at `created`, with a new id.
    pub fn new(kind: &str, object: Value, created: i64) -> Self {
        Event {
            id: new_id("evt"),
            kind: kind.to_owned(),
            created,
            object,
        }
    }

    /// The JSON body Stripe sends.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "event",
            "api_version": API_VERSION,
            "created": self.created,
            "data": { "object": self.object },
            "livemode": false,
            "pending_webhooks": 1,
            "request": { "id": Value::Null, "idempotency_key": Value::Null },
            "type": self.kind,
        })
    }

    /// The body as bytes (what is signed).
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_json()).unwrap_or_default()
    }
}

/// A completed Checkout Session in subscription mode.
#[derive(Clone, Debug)]
pub struct CheckoutSpec {
    pub id: String,
    /// `client_reference_id`: the Iskra user.
    pub user_id: String,
    pub customer: String,
    pub subscription: String,
    pub created: i64,
}

impl CheckoutSpec {
    /// `checkout.session` with `status: complete`, `payment_status: paid`.
    pub fn completed(&self) -> Value {
        json!({
            "id": self.id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "complete",
            "payment_status": "paid",
            "client_reference_id": self.user_id,
            "customer": self.customer,
            "customer_details": { "email": Value::Null },
            "subscription": self.subscription,
            "metadata": { "user_id": self.user_id },
            "created": self.created,
            "expires_at": self.created + 24 * 3600,
            "currency": "usd",
            "amount_total": 1500,
            "url": Value::Null,
            "livemode": false,
        })
    }
}

/// A subscription with one item (one price).
#[derive(Clone, Debug)]
pub struct SubscriptionSpec {
    pub id: String,
    pub customer: String,
    /// The price of its one item.
    pub price: String,
    /// `active`, `trialing`, `past_due`, `canceled`, `unpaid`, `incomplete`, …
    pub status: String,
    /// `metadata.user_id` (as Iskra's Checkout sets it through `subscription_data`).
    pub user_id: Option<String>,
    pub created: i64,
    pub period_start: i64,
    pub period_end: i64,
}

impl SubscriptionSpec {
    /// An active subscription of `customer` to `price`, started at `start`.
    pub fn active(customer: &str, price: &str, user_id: Option<&str>, start: i64) -> Self {
        SubscriptionSpec {
            id: new_id("sub"),
            customer: customer.to_owned(),
            price: price.to_owned(),
            status: "active".into(),
            user_id: user_id.map(str::to_owned),
            created: start,
            period_start: start,
            period_end: month_after(start),
        }
    }

    /// The same subscription with another status.
    pub fn with_status(&self, status: &str) -> Self {
        SubscriptionSpec {
            status: status.to_owned(),
            ..self.clone()
        }
    }

    /// The same subscription moved to another price.
    pub fn with_price(&self, price: &str) -> Self {
        SubscriptionSpec {
            price: price.to_owned(),
            ..self.clone()
        }
    }

    /// The `subscription` object.
    pub fn to_json(&self) -> Value {
        let ended = matches!(self.status.as_str(), "canceled" | "incomplete_expired");
        let metadata = match &self.user_id {
            Some(u) => json!({ "user_id": u }),
            None => json!({}),
        };
        json!({
            "id": self.id,
            "object": "subscription",
            "customer": self.customer,
            "status": self.status,
            "created": self.created,
            "start_date": self.created,
            "billing_cycle_anchor": self.period_start,
            "cancel_at_period_end": false,
            "canceled_at": if ended { json!(self.period_start) } else { Value::Null },
            "ended_at": if ended { json!(self.period_start) } else { Value::Null },
            "collection_method": "charge_automatically",
            "currency": "usd",
            "metadata": metadata,
            "items": {
                "object": "list",
                "data": [{
                    "id": format!("si_{}", suffix(&self.id)),
                    "object": "subscription_item",
                    "created": self.created,
                    "current_period_start": self.period_start,
                    "current_period_end": self.period_end,
                    "price": price_object(&self.price),
                    "quantity": 1,
                    "subscription": self.id,
                    "metadata": {},
                }],
                "has_more": false,
                "total_count": 1,
                "url": format!("/v1/subscription_items?subscription={}", self.id),
            },
            "latest_invoice": Value::Null,
            "livemode": false,
        })
    }
}

/// A recurring monthly price object.
fn price_object(id: &str) -> Value {
    json!({
        "id": id,
        "object": "price",
        "active": true,
        "currency": "usd",
        "product": format!("prod_{}", id.trim_start_matches("price_")),
        "recurring": { "interval": "month", "interval_count": 1, "usage_type": "licensed" },
        "type": "recurring",
        "unit_amount": 1500,
        "livemode": false,
    })
}

/// One line of an invoice, generated by a subscription item.
#[derive(Clone, Debug)]
pub struct LineSpec {
    pub price: String,
    /// In cents; negative for the unused time of a prorated change.
    pub amount: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub proration: bool,
}

/// An invoice of a subscription.
#[derive(Clone, Debug)]
pub struct InvoiceSpec {
    pub id: String,
    pub customer: String,
    pub subscription: String,
    /// The subscription's `metadata.user_id` snapshot (`parent.subscription_details.metadata`).
    pub user_id: Option<String>,
    /// `subscription_create`, `subscription_cycle`, `subscription_update`, `manual`, …
    pub billing_reason: String,
    /// `paid`, `open`, `draft`, `void`, `uncollectible`.
    pub status: String,
    pub created: i64,
    pub lines: Vec<LineSpec>,
}

impl InvoiceSpec {
    /// The paid invoice of `sub`'s current period (`billing_reason` as given).
    pub fn period(sub: &SubscriptionSpec, billing_reason: &str) -> Self {
        InvoiceSpec {
            id: new_id("in"),
            customer: sub.customer.clone(),
            subscription: sub.id.clone(),
            user_id: sub.user_id.clone(),
            billing_reason: billing_reason.to_owned(),
            status: "paid".into(),
            created: sub.period_start,
            lines: vec![LineSpec {
                price: sub.price.clone(),
                amount: 1500,
                period_start: sub.period_start,
                period_end: sub.period_end,
                proration: false,
            }],
        }
    }

    /// The prorated invoice of moving `sub` from its price to `new_price` at `at`: a credit
    /// line for the unused time of the old price and a charge for the rest of the period at
    /// the new one (`billing_reason: subscription_update`).
    pub fn proration(sub: &SubscriptionSpec, new_price: &str, at: i64) -> Self {
        InvoiceSpec {
            id: new_id("in"),
            customer: sub.customer.clone(),
            subscription: sub.id.clone(),
            user_id: sub.user_id.clone(),
            billing_reason: "subscription_update".into(),
            status: "paid".into(),
            created: at,
            lines: vec![
                LineSpec {
                    price: sub.price.clone(),
                    amount: -750,
                    period_start: at,
                    period_end: sub.period_end,
                    proration: true,
                },
                LineSpec {
                    price: new_price.to_owned(),
                    amount: 4500,
                    period_start: at,
                    period_end: sub.period_end,
                    proration: true,
                },
            ],
        }
    }

    /// The same invoice with another status (`open` after a failed payment).
    pub fn with_status(&self, status: &str) -> Self {
        InvoiceSpec {
            status: status.to_owned(),
            ..self.clone()
        }
    }

    /// The `invoice` object.
    pub fn to_json(&self) -> Value {
        let total: i64 = self.lines.iter().map(|l| l.amount).sum();
        let paid = self.status == "paid";
        let metadata = match &self.user_id {
            Some(u) => json!({ "user_id": u }),
            None => json!({}),
        };
        let lines: Vec<Value> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                json!({
                    "id": format!("il_{}_{i}", suffix(&self.id)),
                    "object": "line_item",
                    "amount": l.amount,
                    "currency": "usd",
                    "description": Value::Null,
                    "invoice": self.id,
                    "livemode": false,
                    "metadata": {},
                    "parent": {
                        "type": "subscription_item_details",
                        "invoice_item_details": Value::Null,
                        "subscription_item_details": {
                            "invoice_item": Value::Null,
                            "proration": l.proration,
                            "proration_details": { "credited_items": Value::Null },
                            "subscription": self.subscription,
                            "subscription_item": format!("si_{}", suffix(&self.subscription)),
                        },
                    },
                    "period": { "start": l.period_start, "end": l.period_end },
                    "pricing": {
                        "type": "price_details",
                        "price_details": {
                            "price": l.price,
                            "product": format!("prod_{}", l.price.trim_start_matches("price_")),
                        },
                        "unit_amount_decimal": l.amount.to_string(),
                    },
                    "quantity": 1,
                })
            })
            .collect();
        json!({
            "id": self.id,
            "object": "invoice",
            "customer": self.customer,
            "status": self.status,
            "billing_reason": self.billing_reason,
            "collection_method": "charge_automatically",
            "currency": "usd",
            "amount_due": total.max(0),
            "amount_paid": if paid { total.max(0) } else { 0 },
            "amount_remaining": if paid { 0 } else { total.max(0) },
            "attempt_count": 1,
            "attempted": true,
            "created": self.created,
            "period_start": self.lines.first().map_or(self.created, |l| l.period_start),
            "period_end": self.lines.first().map_or(self.created, |l| l.period_end),
            "parent": {
                "type": "subscription_details",
                "quote_details": Value::Null,
                "subscription_details": {
                    "metadata": metadata,
                    "subscription": self.subscription,
                },
            },
            "lines": {
                "object": "list",
                "data": lines,
                "has_more": false,
                "total_count": self.lines.len(),
                "url": format!("/v1/invoices/{}/lines", self.id),
            },
            "status_transitions": {
                "finalized_at": self.created,
                "paid_at": if paid { json!(self.created) } else { Value::Null },
            },
            "livemode": false,
        })
    }
}
