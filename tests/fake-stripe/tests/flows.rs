//! The fake on its own: its API's key check and idempotency, and the pay and portal pages that
//! local runs click through — each sends Stripe's events, correctly signed, to the configured
//! endpoint (a small receiver here) and redirects back.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use iskra_fake_stripe::{signature, FakeStripe, FakeStripeConfig};
use serde_json::Value;
use std::sync::{Arc, Mutex};

type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook endpoint that keeps each delivery's signature header and body.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(got): State<Received>, h: HeaderMap, body: Bytes| async move {
                    let sig = h
                        .get("stripe-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let raw = String::from_utf8_lossy(&body).into_owned();
                    got.lock().unwrap().push((format!("{sig}\n{raw}"), json));
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// Whether `header` (`t=…,v1=…`) signs `body` under `secret`.
fn signed(secret: &str, header: &str, body: &str) -> bool {
    let mut t = 0;
    let mut v1 = "";
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse().unwrap(),
            Some(("v1", v)) => v1 = v,
            _ => {}
        }
    }
    signature(secret, t, body.as_bytes()) == v1
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn create_checkout(fake: &FakeStripe, key: &str, idem: &str, price: &str) -> (u16, Value) {
    let res = client()
        .post(format!("{}/v1/checkout/sessions", fake.api_url()))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .form(&[
            ("mode", "subscription"),
            ("client_reference_id", "user-1"),
            ("line_items[0][price]", price),
            ("line_items[0][quantity]", "1"),
            (
                "success_url",
                "https://app.test/done?s={CHECKOUT_SESSION_ID}",
            ),
            ("cancel_url", "https://app.test/cancel"),
        ])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn the_api_checks_the_key_and_replays_idempotent_requests() {
    let fake = FakeStripe::start(FakeStripeConfig::default()).await;
    let (status, body) = create_checkout(&fake, "sk_test_wrong", "k1", "price_a").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let key = fake.secret_key();
    let (status, first) = create_checkout(&fake, &key, "k1", "price_a").await;
    assert_eq!(status, 200, "{first}");
    let (_, again) = create_checkout(&fake, &key, "k1", "price_a").await;
    assert_eq!(first, again);
    let (status, other) = create_checkout(&fake, &key, "k1", "price_b").await;
    assert_eq!(status, 400);
    assert_eq!(other["error"]["type"], "idempotency_error");
    let reqs = fake.requests();
    assert_eq!(
        reqs.iter()
            .map(|r| (r.status, r.replayed, r.authorized))
            .collect::<Vec<_>>(),
        [
            (401, false, false),
            (200, false, true),
            (200, true, true),
            (400, false, true)
        ]
    );
    assert_eq!(reqs[1].param("line_items[0][price]"), Some("price_a"));
}

#[tokio::test]
async fn paying_and_cancelling_on_the_pages_send_signed_events() {
    let (hook, got) = receiver().await;
    let fake = FakeStripe::start(FakeStripeConfig {
        webhook_url: Some(hook),
        ..FakeStripeConfig::default()
    })
    .await;
    let (_, session) = create_checkout(&fake, &fake.secret_key(), "k", "price_a").await;
    let url = session["url"].as_str().unwrap();
    let page = client().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("price_a"));

    let paid = client().post(url).send().await.unwrap();
    assert_eq!(paid.status(), 303);
    let id = session["id"].as_str().unwrap();
    assert_eq!(
        paid.headers()["location"],
        format!("https://app.test/done?s={id}").as_str()
    );
    let events = got.lock().unwrap().clone();
    let kinds: Vec<&str> = events
        .iter()
        .map(|(_, e)| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "customer.subscription.created",
            "invoice.paid",
            "checkout.session.completed"
        ]
    );
    for (raw, _) in &events {
        let (header, body) = raw.split_once('\n').unwrap();
        assert!(signed(&fake.webhook_secret(), header, body), "{header}");
    }
    let sub = &events[0].1["data"]["object"];
    assert_eq!(sub["metadata"]["user_id"], "user-1");
    assert_eq!(sub["items"]["data"][0]["price"]["id"], "price_a");
    let invoice = &events[1].1["data"]["object"];
    assert_eq!(invoice["billing_reason"], "subscription_create");
    assert_eq!(
        invoice["parent"]["subscription_details"]["subscription"],
        sub["id"]
    );
    let checkout = &events[2].1["data"]["object"];
    assert_eq!(checkout["client_reference_id"], "user-1");
    assert_eq!(checkout["customer"], sub["customer"]);

    // The portal of that customer cancels the subscription.
    let portal: Value = client()
        .post(format!("{}/v1/billing_portal/sessions", fake.api_url()))
        .bearer_auth(fake.secret_key())
        .header("idempotency-key", "p")
        .form(&[
            ("customer", sub["customer"].as_str().unwrap()),
            ("return_url", "https://app.test/back"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cancel = format!("{}/cancel", portal["url"].as_str().unwrap());
    let back = client().post(cancel).send().await.unwrap();
    assert_eq!(back.status(), 303);
    assert_eq!(back.headers()["location"], "https://app.test/back");
    let events = got.lock().unwrap().clone();
    let last = &events.last().unwrap().1;
    assert_eq!(last["type"], "customer.subscription.deleted");
    assert_eq!(last["data"]["object"]["id"], sub["id"]);
    assert_eq!(last["data"]["object"]["status"], "canceled");
}
