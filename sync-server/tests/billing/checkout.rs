//! `POST /v1/billing/checkout` and `POST /v1/billing/portal` through the fake Stripe: the form
//! Stripe receives, the idempotency key a retry reuses, and every refusal (no key, no price,
//! the free plan, no customer, Stripe failing) in the API's error shape without the key.

use super::support::{subscription, Billing, ENTERPRISE, PRO};
use crate::common::{Backend, TestServer};
use iskra_fake_stripe::objects::unix_now;
use iskra_fake_stripe::{ApiRequest, Event};
use serde_json::json;

const CHECKOUT: &str = "/v1/checkout/sessions";
const PORTAL: &str = "/v1/billing_portal/sessions";

fn to(bl: &Billing, path: &str) -> Vec<ApiRequest> {
    bl.stripe
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

async fn checkout_sends_stripe_the_subscription_form(b: Backend) {
    let bl = Billing::start(b, |_| {}).await;
    let user = bl.user("buyer").await;
    let res = user
        .post("/v1/billing/checkout", &json!({"plan": "pro"}))
        .await;
    let url = res.expect(200)["url"].as_str().expect("url").to_owned();
    assert!(
        url.starts_with(&format!("{}/pay/cs_", bl.stripe.api_url())),
        "{url}"
    );
    let sent = to(&bl, CHECKOUT);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let r = &sent[0];
    assert!(r.authorized, "the secret key is sent as a bearer token");
    assert!(r
        .idempotency_key
        .as_deref()
        .is_some_and(|k| k.starts_with("iskra-checkout-")));
    let expect = [
        ("mode", "subscription"),
        ("client_reference_id", "buyer"),
        ("line_items[0][price]", PRO),
        ("line_items[0][quantity]", "1"),
        (
            "success_url",
            "iskra://billing?checkout=success&session_id={CHECKOUT_SESSION_ID}",
        ),
        ("cancel_url", "iskra://billing?checkout=canceled"),
        ("metadata[user_id]", "buyer"),
        ("subscription_data[metadata][user_id]", "buyer"),
        ("customer_email", "buyer@example.test"),
    ];
    for (name, value) in expect {
        assert_eq!(r.param(name), Some(value), "{name} in {:?}", r.params);
    }
    assert_eq!(r.param("customer"), None);
    let session = url.rsplit('/').next().unwrap();
    assert_eq!(bl.stripe.session(session).unwrap().price, PRO);

    // Once Stripe has a customer for the user, later checkouts name it instead of the email.
    let t0 = unix_now();
    let sub = subscription("buyer", PRO, t0);
    bl.deliver(&Event::new(
        "customer.subscription.created",
        sub.to_json(),
        t0,
    ))
    .await;
    user.post("/v1/billing/checkout", &json!({"plan": "enterprise"}))
        .await
        .expect(200);
    let sent = to(&bl, CHECKOUT);
    let r = sent.last().unwrap();
    assert_eq!(r.param("customer"), Some(sub.customer.as_str()));
    assert_eq!(r.param("customer_email"), None);
    assert_eq!(r.param("line_items[0][price]"), Some(ENTERPRISE));

    // The portal opens for that customer.
    let url = user
        .post("/v1/billing/portal", &json!({}))
        .await
        .expect(200)["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with(&format!("{}/portal/bps_", bl.stripe.api_url())),
        "{url}"
    );
    let portal = to(&bl, PORTAL);
    assert_eq!(portal.len(), 1);
    assert!(portal[0].authorized);
    assert_eq!(portal[0].param("customer"), Some(sub.customer.as_str()));
    assert_eq!(portal[0].param("return_url"), Some("iskra://billing"));
    assert!(portal[0]
        .idempotency_key
        .as_deref()
        .is_some_and(|k| k.starts_with("iskra-portal-")));
}

async fn a_retried_checkout_gets_the_same_session(b: Backend) {
    let bl = Billing::start(b, |_| {}).await;
    let user = bl.user("retrier").await;
    let body = json!({"plan": "pro"});
    let first = user.post("/v1/billing/checkout", &body).await.expect(200)["url"].clone();

    // The client retries: the same key reaches Stripe, which answers with the first session.
    let again = user.post("/v1/billing/checkout", &body).await.expect(200)["url"].clone();
    assert_eq!(first, again);
    let sent = to(&bl, CHECKOUT);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].idempotency_key, sent[1].idempotency_key);
    assert!(!sent[0].replayed && sent[1].replayed, "{sent:?}");

    // Stripe fails twice with a 5xx: the server retries with the same key and succeeds.
    bl.stripe.fail_next(&[500, 503]);
    let retried = user.post("/v1/billing/checkout", &body).await.expect(200)["url"].clone();
    assert_eq!(retried, first);
    let sent = to(&bl, CHECKOUT);
    assert_eq!(
        sent[2..].iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 503, 200]
    );
    assert!(sent
        .iter()
        .all(|r| r.idempotency_key == sent[0].idempotency_key));

    // With the client's own Idempotency-Key: the same key, the same page, without a second
    // call to Stripe; another key is another request.
    let keyed = |key: &str| {
        user.request(reqwest::Method::POST, "/v1/billing/checkout")
            .header("idempotency-key", key)
            .json(&json!({"plan": "enterprise"}))
    };
    let a = crate::common::send(keyed("k-1")).await;
    let b2 = crate::common::send(keyed("k-1")).await;
    assert_eq!(a.expect(200), b2.expect(200));
    assert_eq!(b2.header("idempotent-replayed"), Some("true"));
    let calls = to(&bl, CHECKOUT).len();
    assert_eq!(calls, 6, "the replay did not call Stripe");
    let c = crate::common::send(keyed("k-2")).await;
    assert_ne!(c.expect(200)["url"], a.json["url"]);
    let sent = to(&bl, CHECKOUT);
    assert_ne!(sent[5].idempotency_key, sent[6].idempotency_key);
    assert_ne!(sent[5].idempotency_key, sent[0].idempotency_key);
    // The same key for another plan is another request.
    let other = crate::common::send(
        user.request(reqwest::Method::POST, "/v1/billing/checkout")
            .header("idempotency-key", "k-1")
            .json(&json!({"plan": "pro"})),
    )
    .await;
    other.expect_error(409, "CONFLICT");
}

async fn checkout_and_portal_refuse_what_they_cannot_do(b: Backend) {
    let bl = Billing::start(b, |cfg| cfg.stripe_price_enterprise = None).await;
    let user = bl.user("refused").await;
    for (body, field) in [
        (json!({"plan": "free"}), Some("plan")),
        (json!({"plan": "enterprise"}), Some("plan")),
        (json!({"plan": "gold"}), None),
        (json!({}), None),
    ] {
        let res = user.post("/v1/billing/checkout", &body).await;
        let err = res.expect_error(422, "VALIDATION_FAILED");
        if let Some(f) = field {
            assert!(err["fields"][f].is_string(), "{err}");
        }
    }
    // Never subscribed: nothing to manage.
    let err = user
        .post("/v1/billing/portal", &json!({}))
        .await
        .expect_error(409, "CONFLICT")
        .clone();
    assert!(
        err["message"].as_str().unwrap().contains("subscribe"),
        "{err}"
    );
    assert!(bl.stripe.requests().is_empty(), "nothing reached Stripe");

    // Stripe keeps failing: 503 after the retries, in the API's shape, without the key.
    bl.stripe.fail_next(&[500, 500, 500]);
    let res = user
        .post("/v1/billing/checkout", &json!({"plan": "pro"}))
        .await;
    let err = res.expect_error(503, "BILLING_UNAVAILABLE");
    assert!(err["message"].as_str().unwrap().contains("Stripe"), "{err}");
    assert_eq!(bl.stripe.requests().len(), 3);
    assert!(!String::from_utf8_lossy(&res.bytes).contains(&bl.stripe.secret_key()));
    // A 4xx from Stripe is final: not retried.
    bl.stripe.fail_next(&[400]);
    user.post("/v1/billing/checkout", &json!({"plan": "pro"}))
        .await
        .expect_error(503, "BILLING_UNAVAILABLE");
    assert_eq!(bl.stripe.requests().len(), 4);

    // A wrong secret key: Stripe refuses it, the caller gets a 503 without it.
    let wrong = TestServer::start(b, |cfg| {
        super::support::wire(cfg, &bl.stripe);
        cfg.stripe_secret_key = Some("sk_test_not_the_right_one".into());
    })
    .await;
    let res = wrong
        .user("someone")
        .post("/v1/billing/checkout", &json!({"plan": "pro"}))
        .await;
    res.expect_error(503, "BILLING_UNAVAILABLE");
    assert!(!String::from_utf8_lossy(&res.bytes).contains("sk_test_not_the_right_one"));
    assert!(!bl.stripe.requests().last().unwrap().authorized);

    // Stripe unreachable (nothing listens there).
    let down = TestServer::start(b, |cfg| {
        super::support::wire(cfg, &bl.stripe);
        cfg.stripe_api_url = "http://127.0.0.1:9".into();
    })
    .await;
    down.user("someone")
        .post("/v1/billing/checkout", &json!({"plan": "pro"}))
        .await
        .expect_error(503, "BILLING_UNAVAILABLE");
}

async fn without_a_stripe_key_billing_answers_503(b: Backend) {
    let srv = TestServer::default(b).await;
    let user = srv.user("no-billing");
    for path in ["/v1/billing/checkout", "/v1/billing/portal"] {
        let res = user.post(path, &json!({"plan": "pro"})).await;
        let err = res.expect_error(503, "BILLING_UNAVAILABLE");
        assert!(
            err["message"].as_str().unwrap().contains("not configured"),
            "{path}: {err}"
        );
    }
    // Signed-out callers are refused before anything else.
    for path in ["/v1/billing/checkout", "/v1/billing/portal"] {
        srv.anonymous()
            .post(path, &json!({"plan": "pro"}))
            .await
            .expect_error(401, "UNAUTHENTICATED");
    }
}

backend_tests!(
    checkout_sends_stripe_the_subscription_form,
    a_retried_checkout_gets_the_same_session,
    checkout_and_portal_refuse_what_they_cannot_do,
    without_a_stripe_key_billing_answers_503,
);
