//! The parts of Stripe's events billing reads, parsed leniently: unknown fields are ignored,
//! ids may come as strings or expanded objects, and both invoice shapes are understood — the
//! current one (API version `2025-03-31.basil` and later: `parent.subscription_details`,
//! `lines[].pricing.price_details.price`, `lines[].parent.subscription_item_details`) and the
//! earlier one (`subscription`, `subscription_details`, `lines[].price`,
//! `lines[].subscription`).

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

/// A Stripe event envelope (`"object": "event"`).
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event happened (Unix seconds).
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: Value,
}

/// Why a body is not an event billing can use.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("not a Stripe event: {0}")]
    NotAnEvent(String),
    #[error("{kind} event {id}: its object is not a {expected}: {reason}")]
    BadObject {
        kind: String,
        id: String,
        expected: &'static str,
        reason: String,
    },
}

impl Event {
    /// Parses a webhook body.
    pub fn parse(body: &[u8]) -> Result<Self, EventError> {
        let event: Event =
            serde_json::from_slice(body).map_err(|e| EventError::NotAnEvent(e.to_string()))?;
        if event.id.is_empty() || event.kind.is_empty() {
            return Err(EventError::NotAnEvent("empty id or type".into()));
        }
        Ok(event)
    }

    /// `data.object` as `T`.
    pub fn object<T: serde::de::DeserializeOwned>(
        &self,
        expected: &'static str,
    ) -> Result<T, EventError> {
        T::deserialize(&self.data.object).map_err(|e| EventError::BadObject {
            kind: self.kind.clone(),
            id: self.id.clone(),
            expected,
            reason: e.to_string(),
        })
    }
}

/// An id, or the object it names when the request expanded it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) | Self::Object { id } => id,
        }
    }
}

/// Metadata: string values by key (absent or null → empty).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "Option<HashMap<String, Value>>")]
pub struct Metadata(HashMap<String, Value>);

impl From<Option<HashMap<String, Value>>> for Metadata {
    fn from(m: Option<HashMap<String, Value>>) -> Self {
        Metadata(m.unwrap_or_default())
    }
}

impl Metadata {
    /// `metadata.user_id`, set by Iskra's Checkout Sessions.
    pub fn user_id(&self) -> Option<&str> {
        self.0
            .get("user_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// A list object (`{"object": "list", "data": […]}`).
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List { data: Vec::new() }
    }
}

/// `checkout.session`.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default)]
    pub customer: Option<Expandable>,
    #[serde(default)]
    pub metadata: Metadata,
}

impl CheckoutSession {
    /// The user it was created for.
    pub fn user_id(&self) -> Option<&str> {
        self.client_reference_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .or_else(|| self.metadata.user_id())
    }
}

/// `subscription`.
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub customer: Expandable,
    pub status: String,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub items: List<SubscriptionItem>,
}

impl Subscription {
    /// The price of its first item (`items.data[0].price.id`).
    pub fn price_id(&self) -> Option<&str> {
        self.items.data.first().map(|i| i.price.id())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionItem {
    pub price: Expandable,
}

/// `invoice`.
#[derive(Debug, Clone, Deserialize)]
pub struct Invoice {
    pub id: String,
    #[serde(default)]
    pub customer: Option<Expandable>,
    #[serde(default)]
    pub status: Option<String>,
    /// Present in API versions before `2025-03-31.basil`.
    #[serde(default)]
    pub paid: Option<bool>,
    #[serde(default)]
    pub billing_reason: Option<String>,
    #[serde(default)]
    pub parent: Option<InvoiceParent>,
    /// Before `basil`.
    #[serde(default)]
    pub subscription: Option<Expandable>,
    /// Before `basil`.
    #[serde(default)]
    pub subscription_details: Option<SubscriptionDetails>,
    #[serde(default)]
    pub lines: List<InvoiceLine>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceParent {
    #[serde(default)]
    pub subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionDetails {
    #[serde(default)]
    pub subscription: Option<Expandable>,
    #[serde(default)]
    pub metadata: Metadata,
}

impl Invoice {
    /// Paid in full: `status: paid` (and not `paid: false` where that field exists).
    pub fn is_paid(&self) -> bool {
        self.status.as_deref() == Some("paid") && self.paid != Some(false)
    }

    fn details(&self) -> Option<&SubscriptionDetails> {
        self.parent
            .as_ref()
            .and_then(|p| p.subscription_details.as_ref())
            .or(self.subscription_details.as_ref())
    }

    /// The subscription it bills, if any.
    pub fn subscription_id(&self) -> Option<&str> {
        self.details()
            .and_then(|d| d.subscription.as_ref())
            .or(self.subscription.as_ref())
            .map(Expandable::id)
    }

    /// The subscription's `metadata.user_id` as the invoice recorded it.
    pub fn user_id(&self) -> Option<&str> {
        self.details().and_then(|d| d.metadata.user_id())
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceLine {
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub pricing: Option<Pricing>,
    #[serde(default)]
    pub parent: Option<LineParent>,
    /// Before `basil`.
    #[serde(default)]
    pub price: Option<Expandable>,
    /// Before `basil`.
    #[serde(default)]
    pub subscription: Option<Expandable>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Period {
    pub start: i64,
    pub end: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Pricing {
    #[serde(default)]
    pub price_details: Option<PriceDetails>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PriceDetails {
    pub price: Expandable,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LineParent {
    #[serde(default)]
    pub subscription_item_details: Option<SubscriptionItemDetails>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionItemDetails {
    #[serde(default)]
    pub subscription: Option<String>,
}

impl InvoiceLine {
    /// The price it charges for.
    pub fn price_id(&self) -> Option<&str> {
        self.pricing
            .as_ref()
            .and_then(|p| p.price_details.as_ref())
            .map(|d| d.price.id())
            .or_else(|| self.price.as_ref().map(Expandable::id))
    }

    /// Whether a subscription generated it (rather than a one-off invoice item).
    pub fn from_subscription(&self) -> bool {
        self.parent
            .as_ref()
            .and_then(|p| p.subscription_item_details.as_ref())
            .is_some_and(|d| d.subscription.is_some())
            || self.subscription.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, object: Value) -> Event {
        let body = json!({"id": "evt_1", "object": "event", "type": kind, "created": 7,
            "data": {"object": object}});
        Event::parse(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn current_and_earlier_invoice_shapes_read_the_same() {
        let current = event(
            "invoice.paid",
            json!({"id": "in_1", "object": "invoice", "customer": "cus_1", "status": "paid",
              "billing_reason": "subscription_cycle",
              "parent": {"type": "subscription_details", "subscription_details":
                  {"subscription": "sub_1", "metadata": {"user_id": "u1"}}},
              "lines": {"object": "list", "data": [{"amount": 1500, "period": {"start": 1, "end": 2},
                  "pricing": {"type": "price_details", "price_details": {"price": "price_pro"}},
                  "parent": {"type": "subscription_item_details",
                      "subscription_item_details": {"subscription": "sub_1", "proration": false}}}]}}),
        );
        let earlier = event(
            "invoice.paid",
            json!({"id": "in_1", "object": "invoice", "customer": {"id": "cus_1", "object": "customer"},
              "status": "paid", "paid": true, "billing_reason": "subscription_cycle",
              "subscription": "sub_1", "subscription_details": {"metadata": {"user_id": "u1"}},
              "lines": {"object": "list", "data": [{"amount": 1500, "period": {"start": 1, "end": 2},
                  "price": {"id": "price_pro", "object": "price"}, "subscription": "sub_1"}]}}),
        );
        for e in [current, earlier] {
            let inv: Invoice = e.object("invoice").unwrap();
            assert!(inv.is_paid());
            assert_eq!(inv.customer.as_ref().map(Expandable::id), Some("cus_1"));
            assert_eq!(inv.subscription_id(), Some("sub_1"));
            assert_eq!(inv.user_id(), Some("u1"));
            let line = &inv.lines.data[0];
            assert_eq!(line.price_id(), Some("price_pro"));
            assert!(line.from_subscription());
            assert_eq!(line.period.map(|p| p.end), Some(2));
        }
    }

    #[test]
    fn unpaid_invoices_and_bodies_that_are_not_events_are_told_apart() {
        let open = event("invoice.paid", json!({"id": "in_2", "status": "open"}));
        assert!(!open.object::<Invoice>("invoice").unwrap().is_paid());
        let flagged = event(
            "invoice.paid",
            json!({"id": "in_3", "status": "paid", "paid": false}),
        );
        assert!(!flagged.object::<Invoice>("invoice").unwrap().is_paid());
        assert!(Event::parse(b"{\"id\": \"evt_1\"}").is_err());
        assert!(Event::parse(b"not json").is_err());
        let sub = event("customer.subscription.updated", json!({"id": "sub_1"}));
        assert!(sub.object::<Subscription>("subscription").is_err());
    }
}
