//! Billing through Stripe (S11): Checkout Sessions to subscribe to a plan, customer portal
//! sessions to manage it, and the Stripe webhook that turns Stripe's events into tiers, credits
//! and the billing status (`handle`).
//!
//! Stripe is called through its HTTP API (`stripe`) with an idempotency key derived from the
//! request, so a retried request — by the client or by the retry loop — gets the session
//! created the first time instead of a second one. Without a secret key the billing endpoints
//! answer 503 `BILLING_UNAVAILABLE`; a Stripe failure is a 503 too, and never shows the key.

pub mod event;
pub mod handle;
pub mod store;
pub mod stripe;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::users::UserRow;
use iskra_protocol::{BillingUrl, Tier};
use sha2::{Digest, Sha256};
use stripe::{Stripe, StripeError};

/// How long a retry without the client's `Idempotency-Key` gets the same Checkout Session
/// (sessions stay open for 24 hours).
const CHECKOUT_WINDOW_SECS: i64 = 3600;
/// The same for portal sessions, which expire minutes after they are created.
const PORTAL_WINDOW_SECS: i64 = 60;

/// The configured secret key, or 503.
fn secret_key(state: &AppState) -> ApiResult<&str> {
    state
        .config
        .stripe_secret_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::BillingUnavailable(
                "billing is not configured on this server (no Stripe secret key)".into(),
            )
        })
}

/// The Stripe price of a paid plan, or 422.
fn price_of(state: &AppState, plan: Tier) -> ApiResult<&str> {
    let price = match plan {
        Tier::Free => {
            return Err(ApiError::field(
                "plan",
                "the free plan needs no checkout; choose pro or enterprise",
            ))
        }
        Tier::Pro => state.config.stripe_price_pro.as_deref(),
        Tier::Enterprise => state.config.stripe_price_enterprise.as_deref(),
    };
    price.filter(|p| !p.is_empty()).ok_or_else(|| {
        ApiError::field(
            "plan",
            format!("the {} plan cannot be bought on this server", plan.as_str()),
        )
    })
}

/// `return_url` with `query` added.
fn with_query(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// The `Idempotency-Key` sent to Stripe: a digest of the user, the request's parameters and
/// either the client's own `Idempotency-Key` or the current time window — a retry sends the
/// same one, another request (other parameters, or a later click) another.
fn idempotency_key(
    kind: &str,
    user: &str,
    params: &[(String, String)],
    client_key: Option<&str>,
    window_secs: i64,
) -> String {
    let mut h = Sha256::new();
    for part in [kind, user] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    for (k, v) in params {
        h.update((k.len() as u64).to_le_bytes());
        h.update(k);
        h.update((v.len() as u64).to_le_bytes());
        h.update(v);
    }
    match client_key {
        Some(k) => h.update(format!("client:{k}")),
        None => h.update(format!(
            "window:{}",
            chrono::Utc::now().timestamp() / window_secs
        )),
    }
    format!("iskra-{kind}-{}", &hex::encode(h.finalize())[..40])
}

fn unavailable(what: &str, e: StripeError) -> ApiError {
    tracing::warn!(error = %e, what, "Stripe call failed");
    ApiError::BillingUnavailable(format!(
        "Stripe did not answer while creating the {what}; try again in a moment"
    ))
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Creates a Checkout Session that subscribes `user` to `plan`; its URL.
pub async fn checkout(
    state: &AppState,
    user: &UserRow,
    plan: Tier,
    client_key: Option<&str>,
) -> ApiResult<BillingUrl> {
    let key = secret_key(state)?;
    let price = price_of(state, plan)?;
    let customer = state.store.stripe_customer_of(&user.id).await?;
    let ret = &state.config.billing_return_url;
    let success = with_query(ret, "checkout=success&session_id={CHECKOUT_SESSION_ID}");
    let cancel = with_query(ret, "checkout=canceled");
    let mut form = params(&[
        ("mode", "subscription"),
        ("client_reference_id", &user.id),
        ("line_items[0][price]", price),
        ("line_items[0][quantity]", "1"),
        ("success_url", &success),
        ("cancel_url", &cancel),
        ("metadata[user_id]", &user.id),
        ("subscription_data[metadata][user_id]", &user.id),
    ]);
    match (&customer, &user.email) {
        (Some(c), _) => form.extend(params(&[("customer", c)])),
        (None, Some(email)) if !email.is_empty() => {
            form.extend(params(&[("customer_email", email)]))
        }
        _ => {}
    }
    let idem = idempotency_key(
        "checkout",
        &user.id,
        &form,
        client_key,
        CHECKOUT_WINDOW_SECS,
    );
    let session = Stripe::new(&state.config.stripe_api_url, key)
        .create_session("/v1/checkout/sessions", &form, &idem)
        .await
        .map_err(|e| unavailable("checkout session", e))?;
    tracing::info!(user = %user.id, plan = plan.as_str(), session = %session.id, "checkout session created");
    Ok(BillingUrl { url: session.url })
}

/// Creates a customer portal session for `user`'s Stripe customer; its URL. 409 when the user
/// has no Stripe customer yet (they never subscribed).
pub async fn portal(state: &AppState, user: &UserRow) -> ApiResult<BillingUrl> {
    let key = secret_key(state)?;
    let customer = state
        .store
        .stripe_customer_of(&user.id)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(
                "there is no billing account to manage yet: subscribe to a plan first".into(),
            )
        })?;
    let form = params(&[
        ("customer", &customer),
        ("return_url", &state.config.billing_return_url),
    ]);
    let idem = idempotency_key("portal", &user.id, &form, None, PORTAL_WINDOW_SECS);
    let session = Stripe::new(&state.config.stripe_api_url, key)
        .create_session("/v1/billing_portal/sessions", &form, &idem)
        .await
        .map_err(|e| unavailable("portal session", e))?;
    Ok(BillingUrl { url: session.url })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_follow_the_request_and_the_clients_key() {
        let form = params(&[
            ("mode", "subscription"),
            ("line_items[0][price]", "price_1"),
        ]);
        let k = |user, form: &[(String, String)], client| {
            idempotency_key("checkout", user, form, client, CHECKOUT_WINDOW_SECS)
        };
        assert_eq!(k("u1", &form, Some("c1")), k("u1", &form, Some("c1")));
        assert_ne!(k("u1", &form, Some("c1")), k("u1", &form, Some("c2")));
        assert_ne!(k("u1", &form, Some("c1")), k("u2", &form, Some("c1")));
        let other = params(&[
            ("mode", "subscription"),
            ("line_items[0][price]", "price_2"),
        ]);
        assert_ne!(k("u1", &form, Some("c1")), k("u1", &other, Some("c1")));
        assert!(k("u1", &form, None).starts_with("iskra-checkout-"));
        assert!(k("u1", &form, None).len() <= 255);
    }

    #[test]
    fn return_urls_get_their_query_appended() {
        assert_eq!(with_query("iskra://billing", "a=1"), "iskra://billing?a=1");
        assert_eq!(
            with_query("https://x.test/b?from=app", "a=1"),
            "https://x.test/b?from=app&a=1"
        );
    }
}
