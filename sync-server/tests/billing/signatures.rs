//! `POST /v1/webhooks/stripe` refuses what Stripe did not sign: a wrong secret, a stale
//! timestamp, a body changed after signing, no signature, or a server with no webhook secret —
//! 401 and nothing changes (no tier, no credits, no recorded event). A signed body that is not
//! an event is a 400; an event of a type billing does not handle is recorded and changes nothing.

use super::support::{subscription, Billing, PRO};
use crate::common::{assert_error_shape, Backend, TestServer};
use iskra_fake_stripe::objects::unix_now;
use iskra_fake_stripe::{
    signature_header, Event, FakeStripe, FakeStripeConfig, InvoiceSpec, Tamper,
};
use serde_json::{json, Value};

async fn unsigned_stale_and_changed_deliveries_are_refused_and_change_nothing(b: Backend) {
    let bl = Billing::start(b, |_| {}).await;
    let user = bl.user("target").await;
    let t0 = unix_now() - 60;
    let sub = subscription(&user.id, PRO, t0);
    let events = [
        Event::new("customer.subscription.created", sub.to_json(), t0),
        Event::new(
            "invoice.paid",
            InvoiceSpec::period(&sub, "subscription_create").to_json(),
            t0 + 1,
        ),
    ];
    let credits_before = bl.credits(&user).await;
    let ledger_before = bl.rows("credit_ledger").await;
    for event in &events {
        for tamper in [
            Tamper::WrongSecret,
            Tamper::StaleTimestamp,
            Tamper::BodyChangedAfterSigning,
            Tamper::NoSignature,
        ] {
            let d = bl.hooks.deliver_with(event, tamper.clone()).await;
            assert_eq!(d.status, Some(401), "{tamper:?} {}: {}", event.kind, d.body);
            let body: Value = serde_json::from_str(&d.body).expect("JSON error body");
            assert_error_shape(&body);
            assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
        }
    }
    assert_eq!(bl.tier(&user).await, "free");
    assert_eq!(bl.credits(&user).await, credits_before);
    assert_eq!(bl.rows("credit_ledger").await, ledger_before);
    for table in ["stripe_events", "stripe_customers", "stripe_subscriptions"] {
        assert_eq!(bl.rows(table).await, 0, "{table}");
    }

    // The same events, correctly signed, do apply (so the refusals were the signatures').
    for event in &events {
        bl.deliver(event).await;
    }
    assert_eq!(bl.tier(&user).await, "pro");
    assert_eq!(bl.invoice_allocations(&user.id).await, 1);
}

async fn signed_bodies_that_are_not_events_are_bad_requests(b: Backend) {
    let bl = Billing::start(b, |_| {}).await;
    let user = bl.user("shapes").await;
    let secret = bl.stripe.webhook_secret();
    let post = |body: Vec<u8>| {
        let header = signature_header(&secret, unix_now(), &body);
        bl.srv
            .http
            .post(bl.srv.url("/v1/webhooks/stripe"))
            .header("stripe-signature", header)
            .header("content-type", "application/json")
            .body(body)
    };
    let known = Event::new("customer.subscription.updated", json!({"id": "sub_x"}), 1);
    for body in [
        b"not json".to_vec(),
        br#"{"object": "event"}"#.to_vec(),
        br#"{"id": "evt_1", "type": "invoice.paid", "created": "yesterday", "data": {}}"#.to_vec(),
        // A handled type whose object lacks what billing reads.
        known.body(),
    ] {
        let res = crate::common::send(post(body)).await;
        res.expect_error(400, "BAD_REQUEST");
    }
    assert_eq!(bl.rows("stripe_events").await, 0);

    // An event of another type: 200, recorded, nothing else; again: 200.
    let other = Event::new(
        "customer.created",
        json!({"id": "cus_x", "object": "customer"}),
        1,
    );
    bl.deliver(&other).await;
    bl.deliver(&other).await;
    assert_eq!(bl.rows("stripe_events").await, 1);
    assert_eq!(bl.tier(&user).await, "free");
}

async fn without_a_webhook_secret_every_delivery_is_refused(b: Backend) {
    let stripe = FakeStripe::start(FakeStripeConfig::default()).await;
    let srv = TestServer::start(b, |cfg| {
        super::support::wire(cfg, &stripe);
        cfg.stripe_webhook_secret = None;
    })
    .await;
    let user = srv.user("unprotected");
    user.get("/v1/me").await.expect(200);
    let hooks = stripe.sender(&srv.url("/v1/webhooks/stripe"));
    let t0 = unix_now();
    let sub = subscription(&user.id, PRO, t0);
    let event = Event::new("customer.subscription.created", sub.to_json(), t0);
    for _ in 0..2 {
        let d = hooks.deliver(&event).await;
        assert_eq!(d.status, Some(401), "{}", d.body);
        assert!(d.body.contains("UNAUTHENTICATED"), "{}", d.body);
    }
    let me = user.get("/v1/me").await.expect(200).clone();
    assert_eq!(me["tier"], "free");
}

backend_tests!(
    unsigned_stale_and_changed_deliveries_are_refused_and_change_nothing,
    signed_bodies_that_are_not_events_are_bad_requests,
    without_a_webhook_secret_every_delivery_is_refused,
);
