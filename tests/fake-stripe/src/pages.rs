//! The pages a browser opens for local runs: the Checkout page (`/pay/{session}`) whose "Pay"
//! button completes the purchase, and the portal (`/portal/{session}`) whose button cancels the
//! customer's subscriptions. Each sends the events Stripe would send to the configured webhook
//! endpoint, then redirects to the session's return URL.

use crate::objects::{new_id, unix_now, CheckoutSpec, Event, InvoiceSpec, SubscriptionSpec};
use crate::state::{lock, Shared};
use crate::webhook::Sender;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::sync::Arc;

/// The events of paying a Checkout Session, in the order Stripe usually sends them.
#[derive(Clone, Debug)]
pub struct Completion {
    pub customer: String,
    pub subscription: SubscriptionSpec,
    pub invoice: InvoiceSpec,
    /// `customer.subscription.created`, `invoice.paid`, `checkout.session.completed`.
    pub events: Vec<Event>,
}

/// Builds the completion of session `id` (a new customer unless the session named one) and
/// remembers the subscription under its customer.
pub(crate) fn complete(shared: &Shared, id: &str) -> Option<Completion> {
    let session = lock(&shared.sessions).get(id).cloned()?;
    let now = unix_now();
    let customer = session.customer.clone().unwrap_or_else(|| new_id("cus"));
    let user = (!session.user_id.is_empty()).then_some(session.user_id.as_str());
    let subscription = SubscriptionSpec::active(&customer, &session.price, user, now);
    let invoice = InvoiceSpec::period(&subscription, "subscription_create");
    let checkout = CheckoutSpec {
        id: session.id.clone(),
        user_id: session.user_id.clone(),
        customer: customer.clone(),
        subscription: subscription.id.clone(),
        created: now,
    };
    let events = vec![
        Event::new("customer.subscription.created", subscription.to_json(), now),
        Event::new("invoice.paid", invoice.to_json(), now),
        Event::new("checkout.session.completed", checkout.completed(), now),
    ];
    lock(&shared.subscriptions)
        .entry(customer.clone())
        .or_default()
        .push(subscription.clone());
    Some(Completion {
        customer,
        subscription,
        invoice,
        events,
    })
}

fn sender(shared: &Shared) -> Option<Sender> {
    let url = lock(&shared.webhook_url).clone()?;
    Some(Sender {
        http: shared.http.clone(),
        url,
        secret: shared.webhook_secret.clone(),
    })
}

/// `s` safe inside HTML text and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:32rem;margin:4rem auto}}\
         button{{font-size:1.1rem;padding:.5rem 1.5rem}}</style></head>\
         <body><h1>{title}</h1>{body}<p><small>Iskra's fake Stripe (test mode)</small></p>\
         </body></html>"
    ))
}

/// `GET /pay/{id}`: the Checkout page.
pub(crate) async fn pay_page(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    let Some(session) = lock(&shared.sessions).get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, page("No such session", "")).into_response();
    };
    let body = format!(
        "<p>Subscribe to <code>{}</code> as <code>{}</code>.</p>\
         <form method=post action=\"/pay/{}\"><button>Pay</button></form>\
         <p><a href=\"{}\">Cancel</a></p>",
        esc(&session.price),
        esc(&session.user_id),
        esc(&session.id),
        esc(&session.cancel_url)
    );
    page("Checkout", &body).into_response()
}

/// `POST /pay/{id}`: completes the purchase, sends its events, returns to `success_url`.
pub(crate) async fn pay(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Some(done) = complete(&shared, &id) else {
        return (StatusCode::NOT_FOUND, page("No such session", "")).into_response();
    };
    let Some(sender) = sender(&shared) else {
        let msg = "<p>Paid, but no webhook endpoint is configured (--webhook-url).</p>";
        return page("Paid", msg).into_response();
    };
    for event in &done.events {
        sender.deliver(event).await;
    }
    let success = lock(&shared.sessions)
        .get(&id)
        .map(|s| s.success_url.clone())
        .unwrap_or_default();
    Redirect::to(&success).into_response()
}

/// `GET /portal/{id}`: the customer portal.
pub(crate) async fn portal_page(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    let Some(portal) = lock(&shared.portals).get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, page("No such session", "")).into_response();
    };
    let subs = lock(&shared.subscriptions)
        .get(&portal.customer)
        .cloned()
        .unwrap_or_default();
    let list: String = subs
        .iter()
        .map(|s| {
            format!(
                "<li><code>{}</code>: {}</li>",
                esc(&s.price),
                esc(&s.status)
            )
        })
        .collect();
    let body = format!(
        "<p>Customer <code>{}</code></p><ul>{list}</ul>\
         <form method=post action=\"/portal/{}/cancel\"><button>Cancel subscription</button></form>\
         <p><a href=\"{}\">Return</a></p>",
        esc(&portal.customer),
        esc(&id),
        esc(&portal.return_url)
    );
    page("Billing", &body).into_response()
}

/// `POST /portal/{id}/cancel`: cancels the customer's subscriptions (sending
/// `customer.subscription.deleted` for each), returns to `return_url`.
pub(crate) async fn portal_cancel(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    let Some(portal) = lock(&shared.portals).get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, page("No such session", "")).into_response();
    };
    let ended: Vec<SubscriptionSpec> = lock(&shared.subscriptions)
        .get_mut(&portal.customer)
        .map(|subs| {
            subs.iter_mut()
                .filter(|s| s.status != "canceled")
                .map(|s| {
                    s.status = "canceled".into();
                    s.clone()
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(sender) = sender(&shared) {
        for sub in ended {
            let event = Event::new("customer.subscription.deleted", sub.to_json(), unix_now());
            sender.deliver(&event).await;
        }
    }
    Redirect::to(&portal.return_url).into_response()
}
