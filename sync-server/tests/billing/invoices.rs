//! Invoices and credits: `invoice.paid` — and nothing else — replenishes the plan's credits,
//! once per invoice however often and however concurrently it arrives; the first invoice of a
//! subscription grants once although `checkout.session.completed` comes too; an unpaid invoice
//! grants nothing; a prorated upgrade tops up rather than granting a second period; a failed
//! payment shows in `/v1/me`.

use super::support::{subscription, Billing, ENTERPRISE, PRO};
use crate::common::Backend;
use futures::future::join_all;
use iskra_fake_stripe::objects::{month_after, unix_now};
use iskra_fake_stripe::{Event, InvoiceSpec, SubscriptionSpec};
use iskra_protocol::Tier;
use serde_json::json;

fn rfc3339(unix_secs: i64) -> String {
    chrono::DateTime::from_timestamp(unix_secs, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn created(sub: &SubscriptionSpec) -> Event {
    Event::new("customer.subscription.created", sub.to_json(), sub.created)
}

fn paid(invoice: &InvoiceSpec) -> Event {
    Event::new("invoice.paid", invoice.to_json(), invoice.created + 1)
}

async fn invoice_paid_twice_replenishes_once(b: Backend) {
    let bl = Billing::start(b, |_| {}).await;
    let user = bl.user("payer").await;
    let t0 = unix_now() - 600;
    let sub = subscription(&user.id, PRO, t0);
    bl.deliver(&created(&sub)).await;
    let invoice = InvoiceSpec::period(&sub, "subscription_create");
    let cause = format!("invoice:{}", invoice.id);
    let event = paid(&invoice);
    bl.deliver(&event).await;
    bl.deliver(&event).await;
    // The same event many times at once, and the same invoice in another event.
    let parallel = (0..8).map(|_| bl.hooks.deliver(&event));
    for d in join_all(parallel).await {
        assert_eq!(d.status, Some(200), "{}", d.body);
    }
    bl.deliver(&paid(&invoice)).await;

    assert_eq!(bl.ledger_rows("allocation", &cause).await, 1);
    assert_eq!(bl.invoice_allocations(&user.id).await, 1);
    let pro = bl.plan_amount(Tier::Pro);
    let credits = bl.credits(&user).await;
    assert_eq!(
        (
            &credits["allocation"],
            &credits["plan"],
            &credits["periodEndsAt"]
        ),
        (&json!(pro), &json!("pro"), &json!(rfc3339(sub.period_end))),
        "{credits}"
    );
    assert_eq!(bl.me(&user).await["billingStatus"], "active");

    // The renewal is another invoice: a new period, allocated once.
    let next = SubscriptionSpec {
        period_start: sub.period_end,
        period_end: month_after(sub.period_end),
        ..sub.clone()
    };
    let renewal = InvoiceSpec::period(&next, "subscription_cycle");
    bl.deliver(&paid(&renewal)).await;
    bl.deliver(&paid(&renewal)).await;
    assert_eq!(bl.invoice_allocations(&user.id).await, 2);
    let credits = bl.credits(&user).await;
    assert_eq!(
        (&credits["allocation"], &credits["periodEndsAt"]),
        (&json!(pro), &json!(rfc3339(next.period_end))),
        "{credits}"
    );
}

async fn the_first_invoice_grants_once_though_checkout_completed_too(b: Backend) {
    let bl = Billing::start(b, |_| {}).await;
    let user = bl.user("subscriber").await;
    let before = bl.credits(&user).await;
    let url = user
        .post("/v1/billing/checkout", &json!({"plan": "pro"}))
        .await
        .expect(200)["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let session = url.rsplit('/').next().expect("session id");
    let done = bl
        .stripe
        .complete_checkout(session)
        .expect("the fake created this session");
    let checkout = done
        .events
        .iter()
        .find(|e| e.kind == "checkout.session.completed")
        .expect("checkout event");

    // The checkout alone links the customer and grants nothing.
    bl.deliver(checkout).await;
    assert_eq!(bl.invoice_allocations(&user.id).await, 0);
    assert_eq!(bl.credits(&user).await, before);
    user.post("/v1/billing/portal", &json!({}))
        .await
        .expect(200);

    // Everything in Stripe's order, then everything again backwards.
    for e in &done.events {
        bl.deliver(e).await;
    }
    for e in done.events.iter().rev() {
        bl.deliver(e).await;
    }
    assert_eq!(bl.invoice_allocations(&user.id).await, 1);
    assert_eq!(
        bl.ledger_rows("allocation", &format!("invoice:{}", done.invoice.id))
            .await,
        1
    );
    let credits = bl.credits(&user).await;
    assert_eq!(
        credits["allocation"],
        bl.plan_amount(Tier::Pro),
        "{credits}"
    );
    assert_eq!(bl.tier(&user).await, "pro");
    assert_eq!(bl.me(&user).await["billingStatus"], "active");
}

async fn unpaid_invoices_grant_nothing_and_a_failed_payment_shows_in_me(b: Backend) {
    let bl = Billing::start(b, |_| {}).await;
    let user = bl.user("late-payer").await;
    let t0 = unix_now() - 600;
    let sub = subscription(&user.id, PRO, t0);
    bl.deliver(&created(&sub)).await;
    let invoice = InvoiceSpec::period(&sub, "subscription_create");
    let open = invoice.with_status("open");

    let failed = Event::new("invoice.payment_failed", open.to_json(), t0 + 10);
    bl.deliver(&failed).await;
    assert_eq!(bl.me(&user).await["billingStatus"], "payment_failed");
    // An `invoice.paid` whose invoice is not paid, and a paid invoice in any other event.
    bl.deliver(&Event::new("invoice.paid", open.to_json(), t0 + 11))
        .await;
    let other = InvoiceSpec::period(&sub, "subscription_create");
    for kind in [
        "invoice.payment_succeeded",
        "invoice.finalized",
        "invoice.updated",
    ] {
        bl.deliver(&Event::new(kind, other.to_json(), t0 + 12))
            .await;
    }
    assert_eq!(bl.invoice_allocations(&user.id).await, 0);
    assert_eq!(bl.me(&user).await["billingStatus"], "payment_failed");

    // Paid after a retry: credits once, status active; an older failure arriving late stays
    // in the past.
    bl.deliver(&Event::new("invoice.paid", invoice.to_json(), t0 + 20))
        .await;
    assert_eq!(bl.invoice_allocations(&user.id).await, 1);
    assert_eq!(bl.me(&user).await["billingStatus"], "active");
    let stale = Event::new("invoice.payment_failed", open.to_json(), t0 + 15);
    bl.deliver(&stale).await;
    assert_eq!(bl.me(&user).await["billingStatus"], "active");
}

async fn a_prorated_upgrade_tops_up_instead_of_granting_a_second_period(b: Backend) {
    let bl = Billing::start(b, |_| {}).await;
    let user = bl.user("upgrader").await;
    let t0 = unix_now() - 600;
    let sub = subscription(&user.id, PRO, t0);
    bl.deliver(&created(&sub)).await;
    bl.deliver(&paid(&InvoiceSpec::period(&sub, "subscription_create")))
        .await;
    let (pro, enterprise) = (bl.plan_amount(Tier::Pro), bl.plan_amount(Tier::Enterprise));
    let period_end = json!(rfc3339(sub.period_end));
    assert_eq!(bl.credits(&user).await["allocation"], pro);

    // Upgraded mid-period: the subscription moves to enterprise and Stripe bills the prorated
    // difference (a credit for unused pro time, a charge for enterprise).
    let at = t0 + 300;
    let upgraded = sub.with_price(ENTERPRISE);
    bl.deliver(&Event::new(
        "customer.subscription.updated",
        upgraded.to_json(),
        at,
    ))
    .await;
    let proration = InvoiceSpec::proration(&sub, ENTERPRISE, at);
    let cause = format!("invoice:{}", proration.id);
    bl.deliver(&paid(&proration)).await;
    bl.deliver(&paid(&proration)).await;

    assert_eq!(bl.ledger_rows("allocation", &cause).await, 1);
    let (amount,): (i64,) =
        sqlx::query_as("SELECT amount FROM credit_ledger WHERE kind = 'allocation' AND cause = $1")
            .bind(&cause)
            .fetch_one(bl.srv.state.store.pool())
            .await
            .unwrap();
    assert_eq!(amount, enterprise - pro, "the top-up is the difference");
    let credits = bl.credits(&user).await;
    assert_eq!(
        (
            &credits["allocation"],
            &credits["plan"],
            &credits["periodEndsAt"]
        ),
        (&json!(enterprise), &json!("enterprise"), &period_end),
        "a top-up to the plan within the same period: {credits}"
    );

    // The next period is a full enterprise allocation.
    let next = SubscriptionSpec {
        period_start: upgraded.period_end,
        period_end: month_after(upgraded.period_end),
        ..upgraded
    };
    bl.deliver(&paid(&InvoiceSpec::period(&next, "subscription_cycle")))
        .await;
    let credits = bl.credits(&user).await;
    assert_eq!(
        (&credits["allocation"], &credits["periodEndsAt"]),
        (&json!(enterprise), &json!(rfc3339(next.period_end))),
        "{credits}"
    );
    assert_eq!(bl.invoice_allocations(&user.id).await, 3);
}

backend_tests!(
    invoice_paid_twice_replenishes_once,
    the_first_invoice_grants_once_though_checkout_completed_too,
    unpaid_invoices_grant_nothing_and_a_failed_payment_shows_in_me,
    a_prorated_upgrade_tops_up_instead_of_granting_a_second_period,
);
