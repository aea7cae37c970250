//! Billing (S11): `POST /v1/billing/checkout`, `POST /v1/billing/portal` and Stripe's webhook
//! `POST /v1/webhooks/stripe`. The webhook's signature is checked over the raw body before
//! anything is parsed; a verified event is handled once per event id (`billing::handle`).

use crate::billing::{self, event::Event, handle};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Auth};
use crate::idempotency;
use crate::routes::webhooks::raw_body;
use crate::state::AppState;
use crate::webhook_sig::verify_stripe;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use iskra_protocol::{BillingUrl, CheckoutRequest, ErrorBody};
use std::sync::atomic::{AtomicBool, Ordering};

/// A Stripe Checkout page that subscribes the caller to a plan.
#[utoipa::path(post, path = "/v1/billing/checkout", tag = "billing", request_body = CheckoutRequest,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry returns the same page")),
    responses((status = 200, body = BillingUrl), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn checkout(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CheckoutRequest>,
) -> ApiResult<Response> {
    let fingerprint = serde_json::to_vec(&req).unwrap_or_default();
    let client_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    idempotency::run(
        &state,
        auth.id(),
        &headers,
        &[b"POST /v1/billing/checkout", &fingerprint],
        || async {
            let url =
                billing::checkout(&state, &auth.user, req.plan, client_key.as_deref()).await?;
            let body = serde_json::to_value(url).map_err(ApiError::internal)?;
            Ok((StatusCode::OK, body))
        },
    )
    .await
}

/// A Stripe customer portal page where the caller manages their subscription.
#[utoipa::path(post, path = "/v1/billing/portal", tag = "billing", security(("bearer" = [])),
    responses((status = 200, body = BillingUrl), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn portal(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<BillingUrl>> {
    Ok(Json(billing::portal(&state, &auth.user).await?))
}

/// Whether the missing webhook secret was logged already (once per process).
static NO_SECRET_LOGGED: AtomicBool = AtomicBool::new(false);

/// Stripe's webhook: subscription, invoice and checkout events.
#[utoipa::path(post, path = "/v1/webhooks/stripe", tag = "webhooks",
    request_body(content = Object, content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256>")),
    responses((status = 200, description = "handled, handled before, or about nothing known"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let body = raw_body(&state, body).await?;
    let Some(secret) = state
        .config
        .stripe_webhook_secret
        .as_deref()
        .filter(|s| !s.is_empty())
    else {
        if !NO_SECRET_LOGGED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "a Stripe webhook arrived but no webhook secret is configured \
                 (ISKRA_STRIPE_WEBHOOK_SECRET); every delivery is refused"
            );
        }
        return Err(ApiError::Unauthenticated(
            "Stripe webhooks are not accepted: no webhook secret is configured".into(),
        ));
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    verify_stripe(signature, &body, secret, now).map_err(|e| {
        tracing::info!(reason = %e, "Stripe webhook refused");
        ApiError::Unauthenticated("missing or invalid Stripe-Signature".into())
    })?;
    let event = Event::parse(&body)?;
    let outcome = handle::handle(&state, &event).await?;
    tracing::info!(event = %event.id, kind = %event.kind, outcome = outcome.as_str(), "Stripe event");
    metrics::counter!("iskra_stripe_webhooks_total", "outcome" => outcome.as_str()).increment(1);
    Ok(StatusCode::OK)
}
