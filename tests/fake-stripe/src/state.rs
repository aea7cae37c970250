//! What the fake remembers: the requests it was sent, idempotent replies by key, the Checkout
//! Sessions it created (and the subscriptions their completion started), injected failures.

use crate::objects::SubscriptionSpec;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// One request to the fake's API, as it arrived.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    /// `/v1/checkout/sessions` or `/v1/billing_portal/sessions`.
    pub path: String,
    /// The `Authorization` header carried the fake's secret key as a bearer token.
    pub authorized: bool,
    pub idempotency_key: Option<String>,
    /// The form fields in the order sent (bracket notation kept: `line_items[0][price]`).
    pub params: Vec<(String, String)>,
    /// The status the fake answered.
    pub status: u16,
    /// Answered from an earlier request with the same idempotency key.
    pub replayed: bool,
}

impl ApiRequest {
    /// The value of form field `name`, if sent.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A stored answer to an idempotency key.
#[derive(Clone)]
pub(crate) struct Stored {
    pub path: String,
    pub params: Vec<(String, String)>,
    pub body: serde_json::Value,
}

/// A Checkout Session the fake created.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub price: String,
    /// The customer given at creation, if any.
    pub customer: Option<String>,
    pub success_url: String,
    pub cancel_url: String,
}

/// A portal session the fake created.
#[derive(Clone, Debug)]
pub(crate) struct Portal {
    pub customer: String,
    pub return_url: String,
}

pub(crate) struct Shared {
    pub base: String,
    pub secret_key: String,
    pub webhook_secret: String,
    /// Where completed checkouts and portal cancellations are delivered (bin, local runs).
    pub webhook_url: Mutex<Option<String>>,
    pub http: reqwest::Client,
    pub requests: Mutex<Vec<ApiRequest>>,
    pub replies: Mutex<HashMap<String, Stored>>,
    pub sessions: Mutex<HashMap<String, Session>>,
    pub portals: Mutex<HashMap<String, Portal>>,
    /// Subscriptions started by completed checkouts, by customer.
    pub subscriptions: Mutex<HashMap<String, Vec<SubscriptionSpec>>>,
    /// Statuses the next API requests answer with, one each, before anything else happens.
    pub failures: Mutex<VecDeque<u16>>,
}

/// Locks a mutex, ignoring poisoning (a panicking test thread must not hide the state).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
