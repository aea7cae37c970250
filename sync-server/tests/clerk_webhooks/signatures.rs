//! Deliveries that are not Clerk's: a bad signature, another secret, a stale or future
//! timestamp, a body or `svix-id` changed after signing, missing headers, and any delivery to a
//! server without a secret — all 401, and the user they name is untouched. Signed bodies that
//! are not Clerk events are 400 and not recorded; event types Iskra does not act on are 200.

use super::support::Inspect;
use crate::common::svix::{new_secret, now, sign, user_deleted, user_event, ClerkSender};
use crate::common::{Backend, TestServer};
use serde_json::json;

/// One delivery's headers (`None`: absent) and body.
#[derive(Clone)]
struct Delivery {
    id: Option<String>,
    ts: Option<String>,
    sig: Option<String>,
    body: Vec<u8>,
}

async fn forged_deliveries_are_refused_and_change_nothing(b: Backend) {
    let secret = new_secret();
    let srv = TestServer::start(b, |cfg| {
        cfg.clerk_webhook_secret = Some(secret.clone());
    })
    .await;
    let db = Inspect::of(&srv);
    let clerk = ClerkSender::new(&srv.base, &secret);
    let alice = srv.user("user_forged");
    let project = alice.new_project().await;
    let before = db.rows_of(&alice.id).await;

    let body = user_deleted(&alice.id).to_string().into_bytes();
    let t = now();
    let good = sign(&secret, "msg_1", t, &body);
    let changed = String::from_utf8(body.clone())
        .unwrap()
        .replace(&alice.id, "user_someone_else")
        .into_bytes();
    let mut longer = body.clone();
    longer.push(b' ');
    let signed = Delivery {
        id: Some("msg_1".into()),
        ts: Some(t.to_string()),
        sig: Some(good.clone()),
        body: body.clone(),
    };
    let with = |change: &dyn Fn(&mut Delivery)| {
        let mut d = signed.clone();
        change(&mut d);
        d
    };
    let resigned = |secret: &str, ts: i64| {
        let sig = sign(secret, "msg_1", ts, &body);
        with(&|d| {
            d.ts = Some(ts.to_string());
            d.sig = Some(sig.clone());
        })
    };
    let cases = [
        ("another secret", resigned(&new_secret(), t)),
        ("stale timestamp", resigned(&secret, t - 600)),
        ("future timestamp", resigned(&secret, t + 600)),
        (
            "garbage signature",
            with(&|d| d.sig = Some("v1,bm90IGEgc2lnbmF0dXJl".into())),
        ),
        (
            "another scheme",
            with(&|d| d.sig = Some(good.replacen("v1,", "v2,", 1))),
        ),
        (
            "timestamp changed",
            with(&|d| d.ts = Some((t - 1).to_string())),
        ),
        ("id changed", with(&|d| d.id = Some("msg_2".into()))),
        ("body changed", with(&|d| d.body = changed.clone())),
        ("body extended", with(&|d| d.body = longer.clone())),
        ("no signature", with(&|d| d.sig = None)),
        ("no id", with(&|d| d.id = None)),
        ("no timestamp", with(&|d| d.ts = None)),
        (
            "timestamp not a number",
            with(&|d| d.ts = Some("soon".into())),
        ),
    ];
    for (what, d) in cases {
        let res = clerk
            .raw(d.id.as_deref(), d.ts.as_deref(), d.sig.as_deref(), d.body)
            .await;
        assert_eq!(
            res.status,
            401,
            "{what}: {}",
            String::from_utf8_lossy(&res.bytes)
        );
        res.expect_error(401, "UNAUTHENTICATED");
        assert_eq!(db.deletion_phase(&alice.id).await, None, "{what}");
        assert_eq!(db.rows_of(&alice.id).await, before, "{what}");
    }
    alice.get("/v1/me").await.expect(200);
    alice.project(project).await;

    // Signed, but not Clerk events: 400, and the delivery id is not spent.
    for bad in [
        json!([]),
        json!({"data": {"id": alice.id}}),
        json!({"type": "user.deleted", "data": {"deleted": true}}),
        json!({"type": "user.updated", "data": {"id": 7}}),
    ] {
        let res = clerk.deliver("msg_shape", &bad).await;
        res.expect_error(400, "BAD_REQUEST");
    }
    let not_json = b"user.deleted".to_vec();
    let sig = sign(&secret, "msg_shape", now(), &not_json);
    clerk
        .raw(
            Some("msg_shape"),
            Some(&now().to_string()),
            Some(&sig),
            not_json,
        )
        .await
        .expect_error(400, "BAD_REQUEST");
    assert_eq!(db.rows_of(&alice.id).await, before);
    // A type Iskra ignores: 200, nothing changes.
    let session = json!({"type": "session.created", "object": "event", "data": {"id": "sess_1", "user_id": alice.id}});
    clerk.deliver("msg_session", &session).await.expect(200);
    assert_eq!(db.rows_of(&alice.id).await, before);
    // The id refused above as "not an event" still works for a real one.
    let update = user_event("user.updated", &alice.id, "forged@example.com", "Real", 1);
    clerk.deliver("msg_shape", &update).await.expect(200);
    assert_eq!(
        alice.get("/v1/me").await.expect(200)["email"],
        "forged@example.com"
    );
}

async fn without_a_secret_every_delivery_is_refused(b: Backend) {
    let srv = TestServer::default(b).await;
    let db = Inspect::of(&srv);
    let alice = srv.user("user_nosecret");
    alice.new_project().await;
    let before = db.rows_of(&alice.id).await;
    for secret in [new_secret(), String::new()] {
        let res = ClerkSender::new(&srv.base, &secret)
            .deliver("msg_1", &user_deleted(&alice.id))
            .await;
        res.expect_error(401, "UNAUTHENTICATED");
    }
    assert_eq!(db.deletion_phase(&alice.id).await, None);
    assert_eq!(db.rows_of(&alice.id).await, before);
    alice.get("/v1/me").await.expect(200);
}

backend_tests!(
    forged_deliveries_are_refused_and_change_nothing,
    without_a_secret_every_delivery_is_refused
);
