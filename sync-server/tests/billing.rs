//! Stripe billing (S11) over real HTTP against the fake Stripe (`iskra-fake-stripe`, a separate
//! server on loopback that speaks Stripe's Checkout and portal API and signs its webhooks):
//! Checkout and portal sessions with their form fields and idempotency keys, subscription
//! events delivered twice and out of order, credits replenished once per paid invoice,
//! payment failures in `/v1/me`, and refused signatures that change nothing.

#[macro_use]
mod common;
mod billing {
    pub mod checkout;
    pub mod invoices;
    pub mod signatures;
    pub mod subscriptions;
    pub mod support;
}
