//! Credits and billing through the sync client against the fake server: the balance fetched
//! when sync starts and kept for offline display, `credits.updated` and a new plan followed
//! live, a refusal for want of credits failing the generation with the shortfall's numbers,
//! estimates, and the billing pages with their typed refusals.

use super::fake_generations::FakeGenerations;
use super::fake_server::{healthy, unreachable_url, FakeServer, Resp};
use super::*;
use crate::credits::{BillingError, CreditShortfall, EstimateRequest};
use crate::engine::tests::engine;
use crate::generation::{GenerateRequest, GenerationState};
use crate::store::outbox::OpState;
use iskra_protocol::{BillingStatus, GenerationKind, Tier};
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;

fn credits(available: i64, plan: &str) -> Value {
    json!({"available": available, "reserved": 0, "allocation": available, "grants": 0,
        "monthlyAllocation": 100, "periodEndsAt": "2026-12-01T00:00:00Z", "plan": plan})
}

fn me(tier: &str, billing: &str) -> Value {
    json!({"id": "u1", "email": "maya@studio.example", "tier": tier,
        "createdAt": "2026-01-01T00:00:00Z", "billingStatus": billing})
}

#[tokio::test]
async fn the_balance_is_fetched_at_start_and_follows_the_event_stream() {
    let (e, _dir) = engine();
    // The first fetch says 100 on the free plan; the event stream then says 88 on pro.
    let balance = Arc::new(Mutex::new(credits(100, "free")));
    let event = format!(
        "event: credits.updated\nid: 7\ndata: {}\n\n",
        json!({"credits": credits(88, "pro")})
    );
    let served = Arc::clone(&balance);
    let server = FakeServer::start(move |req| match req.path.as_str() {
        "/v1/credits" => Resp::json(200, served.lock().unwrap().clone()),
        "/v1/me" => Resp::json(200, me("pro", "active")),
        "/v1/events" => Resp {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: event.clone(),
        },
        _ => healthy(req),
    })
    .await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let mut changes = e.changes();
    let followed = async {
        loop {
            let pro = e.account_summary().unwrap().map(|a| a.tier) == Some(Tier::Pro);
            if pro && e.cached_credits().unwrap().map(|c| c.available) == Some(88) {
                return;
            }
            changes.changed().await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(30), async {
        tokio::select! {
            r = client.watch(std::future::pending()) => panic!("watch ended: {r:?}"),
            () = followed => {}
        }
    })
    .await
    .expect("the event's balance and plan in time");
    let calls = server.calls();
    assert!(
        calls.iter().any(|c| c == "GET /v1/credits"),
        "fetched when sync started: {calls:?}"
    );
    let account = e.account_summary().unwrap().unwrap();
    assert_eq!(
        (account.tier, account.billing_status),
        (Tier::Pro, BillingStatus::Active),
        "a new plan in the event fetched the account again"
    );

    // Offline, the kept balance is what there is.
    drop(server);
    let offline = SyncClient::new(e.clone(), &unreachable_url(), "tok").unwrap();
    let kept = offline.credits().await.unwrap().unwrap();
    assert_eq!((kept.available, kept.plan), (88, Tier::Pro));
}

#[tokio::test]
async fn a_generation_refused_for_credits_fails_with_the_shortfall() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let g = e
        .generate(p, &GenerateRequest::text_to_image("a red fox"))
        .unwrap();
    let gens = FakeGenerations::new();
    gens.refuse_next(
        402,
        json!({"code": "INSUFFICIENT_CREDITS", "message": "not enough credits",
            "required": 12, "available": 5}),
        None,
    );
    let g2 = Arc::clone(&gens);
    let server = FakeServer::start(move |req| {
        if req.path == "/v1/credits" {
            return Resp::json(200, credits(5, "free"));
        }
        g2.handle(req).unwrap_or_else(|| healthy(req))
    })
    .await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let report = client.sync_once().await.unwrap();
    assert_eq!(report.rejected, 1, "{report:?}");
    let failed = e.generation(g.generation.id).unwrap();
    assert_eq!(failed.status, GenerationState::Failed);
    let error = failed.error.unwrap();
    assert_eq!(error.code, "INSUFFICIENT_CREDITS");
    assert_eq!(
        error.credits,
        Some(CreditShortfall {
            required: 12,
            available: 5
        })
    );
    assert!(e
        .outbox()
        .unwrap()
        .iter()
        .any(|op| op.state == OpState::Rejected));
    assert_eq!(gens.generations().len(), 0, "nothing ran on the server");
    assert_eq!(
        e.cached_credits().unwrap().map(|c| c.available),
        Some(5),
        "the refusal brought the balance up to date"
    );
}

#[tokio::test]
async fn estimates_and_billing_pages() {
    let (e, _dir) = engine();
    let billing = Arc::new(Mutex::new(true));
    let on = Arc::clone(&billing);
    let server = FakeServer::start(move |req| {
        let path = req.path.split('?').next().unwrap_or("");
        let enabled = *on.lock().unwrap();
        match (req.method.as_str(), path) {
            ("GET", "/v1/credits/estimate") => Resp::json(
                200,
                json!({"credits": 6, "available": 94, "model": "fal-ai/flux/dev"}),
            ),
            ("POST", _) if !enabled => {
                Resp::error(503, "BILLING_UNAVAILABLE", "billing is not configured")
            }
            ("POST", "/v1/billing/checkout") => Resp::json(
                200,
                json!({"url": format!("https://checkout.stripe.test/{}", req.json()["plan"].as_str().unwrap_or("?"))}),
            ),
            ("POST", "/v1/billing/portal") => {
                Resp::error(409, "CONFLICT", "no Stripe customer yet")
            }
            _ => healthy(req),
        }
    })
    .await;
    let client = SyncClient::new(e.clone(), &server.url, "tok").unwrap();
    let estimate = client
        .estimate(&EstimateRequest {
            kind: GenerationKind::TextToImage,
            model: Some("fal-ai/flux/dev".into()),
            num_images: Some(2),
            image_size: Some("square_hd".into()),
            duration_s: None,
        })
        .await
        .unwrap();
    assert_eq!((estimate.credits, estimate.available), (6, 94));
    let asked = server
        .calls()
        .into_iter()
        .find(|c| c.contains("/estimate"))
        .unwrap();
    assert!(
        asked.contains("kind=text-to-image")
            && asked.contains("numImages=2")
            && asked.contains("imageSize=square_hd"),
        "{asked}"
    );

    assert_eq!(
        client.checkout_url(Tier::Pro).await.unwrap(),
        "https://checkout.stripe.test/pro"
    );
    assert!(matches!(
        client.checkout_url(Tier::Free).await,
        Err(BillingError::Plan(_))
    ));
    assert!(matches!(
        client.billing_portal_url().await,
        Err(BillingError::NoSubscription(m)) if m == "no Stripe customer yet"
    ));
    *billing.lock().unwrap() = false;
    assert!(matches!(
        client.checkout_url(Tier::Enterprise).await,
        Err(BillingError::Unavailable(m)) if m == "billing is not configured"
    ));
    let posts = server
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("POST /v1/billing/checkout"))
        .count();
    assert_eq!(posts, 2, "the free plan never reached the server");
}
