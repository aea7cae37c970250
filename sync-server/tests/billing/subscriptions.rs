//! Subscription events: every event delivered twice and in every order ends in the tier of the
//! newest one (deleted is final), a tier change reaches the user's devices as `quota.updated`
//! and `credits.updated`, and a downgrade keeps everything readable (S5).

use super::support::{permutations, subscription, Billing, ENTERPRISE, PRO};
use crate::common::media::png;
use crate::common::sse::EventStream;
use crate::common::Backend;
use iskra_fake_stripe::objects::unix_now;
use iskra_fake_stripe::Event;
use serde_json::json;

/// Delivers `events` in `order`, each twice in a row.
async fn deliver_twice(bl: &Billing, events: &[Event], order: &[usize]) {
    for &i in order {
        bl.deliver(&events[i]).await;
        bl.deliver(&events[i]).await;
    }
}

async fn subscription_events_twice_and_in_any_order_end_in_the_right_tier(b: Backend) {
    let bl = Billing::start(b, |_| {}).await;
    let t0 = unix_now() - 3600;
    let mut distinct = 0;

    // Created on pro, then moved to enterprise: enterprise whichever arrives first.
    for (n, order) in permutations(&[0, 1]).iter().enumerate() {
        let user = bl.user(&format!("upgrade-{n}")).await;
        let sub = subscription(&user.id, PRO, t0);
        let events = [
            Event::new("customer.subscription.created", sub.to_json(), t0),
            Event::new(
                "customer.subscription.updated",
                sub.with_price(ENTERPRISE).to_json(),
                t0 + 10,
            ),
        ];
        deliver_twice(&bl, &events, order).await;
        distinct += events.len();
        assert_eq!(bl.tier(&user).await, "enterprise", "order {order:?}");
        assert_eq!(bl.me(&user).await["billingStatus"], "none");
    }

    // Created, updated, deleted: free in all six orders, and nothing brings the tier back.
    for (n, order) in permutations(&[0, 1, 2]).iter().enumerate() {
        let user = bl.user(&format!("ended-{n}")).await;
        let sub = subscription(&user.id, PRO, t0);
        let events = [
            Event::new("customer.subscription.created", sub.to_json(), t0),
            Event::new(
                "customer.subscription.updated",
                sub.with_price(ENTERPRISE).to_json(),
                t0 + 10,
            ),
            Event::new(
                "customer.subscription.deleted",
                sub.with_price(ENTERPRISE).with_status("canceled").to_json(),
                t0 + 20,
            ),
        ];
        deliver_twice(&bl, &events, order).await;
        distinct += events.len();
        assert_eq!(bl.tier(&user).await, "free", "order {order:?}");
        assert_eq!(bl.me(&user).await["billingStatus"], "canceled");
        // A late update claiming the subscription is active, newer than the deletion even,
        // does not resurrect it.
        let late = Event::new("customer.subscription.updated", sub.to_json(), t0 + 30);
        bl.deliver(&late).await;
        distinct += 1;
        assert_eq!(bl.tier(&user).await, "free", "resurrected after {order:?}");
    }

    // Active on pro, then unpaid (Stripe gave up on the payment): free in both orders.
    for (n, order) in permutations(&[0, 1]).iter().enumerate() {
        let user = bl.user(&format!("unpaid-{n}")).await;
        let sub = subscription(&user.id, PRO, t0);
        let events = [
            Event::new("customer.subscription.created", sub.to_json(), t0),
            Event::new(
                "customer.subscription.updated",
                sub.with_status("unpaid").to_json(),
                t0 + 10,
            ),
        ];
        deliver_twice(&bl, &events, order).await;
        distinct += events.len();
        assert_eq!(bl.tier(&user).await, "free", "order {order:?}");
    }

    // Created and updated within the same second (as Checkout does): the update wins.
    for (n, order) in permutations(&[0, 1]).iter().enumerate() {
        let user = bl.user(&format!("same-second-{n}")).await;
        let sub = subscription(&user.id, PRO, t0).with_status("incomplete");
        let events = [
            Event::new("customer.subscription.created", sub.to_json(), t0),
            Event::new(
                "customer.subscription.updated",
                sub.with_status("active").to_json(),
                t0,
            ),
        ];
        deliver_twice(&bl, &events, order).await;
        distinct += events.len();
        assert_eq!(bl.tier(&user).await, "pro", "order {order:?}");
    }

    // Every event id is recorded once, however often it came.
    assert_eq!(bl.rows("stripe_events").await, distinct as i64);
}

async fn a_tier_change_is_pushed_to_the_users_devices(b: Backend) {
    let bl = Billing::start(b, |_| {}).await;
    let user = bl.user("live").await;
    let mut events = EventStream::open(&user, None).await;
    let t0 = unix_now();
    let sub = subscription(&user.id, PRO, t0);
    bl.deliver(&Event::new(
        "customer.subscription.created",
        sub.to_json(),
        t0,
    ))
    .await;
    let quota = events.next_named("quota.updated").await;
    assert_eq!(quota.data["quota"]["tier"], "pro", "{:?}", quota.data);
    let credits = events.next_named("credits.updated").await;
    assert_eq!(credits.data["credits"]["plan"], "pro", "{:?}", credits.data);

    bl.deliver(&Event::new(
        "customer.subscription.deleted",
        sub.with_status("canceled").to_json(),
        t0 + 5,
    ))
    .await;
    let quota = events.next_named("quota.updated").await;
    assert_eq!(quota.data["quota"]["tier"], "free", "{:?}", quota.data);
    let credits = events.next_named("credits.updated").await;
    assert_eq!(
        credits.data["credits"]["plan"], "free",
        "{:?}",
        credits.data
    );
}

async fn a_downgrade_keeps_everything_readable(b: Backend) {
    let bl = Billing::start(b, |cfg| {
        cfg.tiers.free.images = 1;
        cfg.tiers.pro.images = 10;
    })
    .await;
    let user = bl.user("downgraded").await;
    let t0 = unix_now() - 60;
    let sub = subscription(&user.id, PRO, t0);
    bl.deliver(&Event::new(
        "customer.subscription.created",
        sub.to_json(),
        t0,
    ))
    .await;
    assert_eq!(bl.tier(&user).await, "pro");
    let project = user.new_project().await;
    let mut ids = Vec::new();
    for seed in 0..3 {
        let asset = user.upload(&png(8, 8, seed), "image/png").await;
        ids.push(asset.expect(201)["id"].as_str().unwrap().to_owned());
    }

    bl.deliver(&Event::new(
        "customer.subscription.deleted",
        sub.with_status("canceled").to_json(),
        t0 + 30,
    ))
    .await;
    assert_eq!(bl.tier(&user).await, "free");
    // Over the free limit: everything stays readable, only new uploads wait.
    let storage = user.storage().await;
    assert_eq!(
        (
            &storage["images"],
            &storage["imagesLimit"],
            &storage["overLimit"]
        ),
        (&json!(3), &json!(1), &json!(true)),
        "{storage}"
    );
    assert_eq!(user.list_all("/v1/assets", "").await.len(), 3);
    for id in &ids {
        user.get(&format!("/v1/assets/{id}/content"))
            .await
            .expect(200);
    }
    user.project(project).await;
    user.upload(&png(8, 8, 99), "image/png")
        .await
        .expect_error(403, "STORAGE_QUOTA_EXCEEDED");
}

backend_tests!(
    subscription_events_twice_and_in_any_order_end_in_the_right_tier,
    a_tier_change_is_pushed_to_the_users_devices,
    a_downgrade_keeps_everything_readable,
);
