//! The two API endpoints: `POST /v1/checkout/sessions` and `POST /v1/billing_portal/sessions`.
//! Form-encoded bodies, `Authorization: Bearer <secret key>`, and Stripe's idempotency: the
//! first answer to an `Idempotency-Key` is replayed (`Idempotent-Replayed: true`) to every
//! later request with the same key and parameters; other parameters with it are a 400
//! `idempotency_error`. Injected failures answer before any of that, like a request that never
//! reached Stripe's application.

use crate::objects::{new_id, unix_now};
use crate::state::{lock, ApiRequest, Portal, Session, Shared, Stored};
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

type Params = Vec<(String, String)>;

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// What one request turned into, before it is recorded.
struct Outcome {
    status: StatusCode,
    body: Value,
    replayed: bool,
}

impl Outcome {
    /// Stripe's error body: `{"error":{"type","message","param"?}}`.
    fn err(status: StatusCode, kind: &str, message: &str, param: Option<&str>) -> Self {
        let mut err = json!({ "type": kind, "message": message });
        if let Some(p) = param {
            err["param"] = json!(p);
        }
        Outcome {
            status,
            body: json!({ "error": err }),
            replayed: false,
        }
    }
}

/// Auth, injected failures and idempotency around `create`; records the request.
fn handle(
    shared: &Shared,
    path: &str,
    headers: &HeaderMap,
    params: Params,
    create: impl FnOnce(&Params) -> Result<Value, Outcome>,
) -> Response {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", shared.secret_key));
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let outcome = run(shared, path, authorized, key.as_deref(), &params, create);
    lock(&shared.requests).push(ApiRequest {
        path: path.to_owned(),
        authorized,
        idempotency_key: key,
        params,
        status: outcome.status.as_u16(),
        replayed: outcome.replayed,
    });
    let mut resp = (outcome.status, Json(outcome.body)).into_response();
    if outcome.replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", "true".parse().expect("header value"));
    }
    resp
}

fn run(
    shared: &Shared,
    path: &str,
    authorized: bool,
    key: Option<&str>,
    params: &Params,
    create: impl FnOnce(&Params) -> Result<Value, Outcome>,
) -> Outcome {
    if let Some(status) = lock(&shared.failures).pop_front() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Outcome::err(status, "api_error", "Injected failure.", None);
    }
    if !authorized {
        return Outcome::err(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided.",
            None,
        );
    }
    let mut replies = lock(&shared.replies);
    if let Some(stored) = key.and_then(|k| replies.get(k)) {
        if stored.path != path || stored.params != *params {
            return Outcome::err(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they \
                 were first used with.",
                None,
            );
        }
        return Outcome {
            status: StatusCode::OK,
            body: stored.body.clone(),
            replayed: true,
        };
    }
    match create(params) {
        Ok(body) => {
            if let Some(k) = key {
                replies.insert(
                    k.to_owned(),
                    Stored {
                        path: path.to_owned(),
                        params: params.clone(),
                        body: body.clone(),
                    },
                );
            }
            Outcome {
                status: StatusCode::OK,
                body,
                replayed: false,
            }
        }
        Err(outcome) => outcome,
    }
}

fn missing(name: &str) -> Outcome {
    Outcome::err(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        &format!("Missing required param: {name}."),
        Some(name),
    )
}

/// `POST /v1/checkout/sessions` (subscription mode only).
pub(crate) async fn checkout(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(params): Form<Params>,
) -> Response {
    let path = "/v1/checkout/sessions";
    handle(&shared.clone(), path, &headers, params, |p| {
        if param(p, "mode") != Some("subscription") {
            return Err(Outcome::err(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "The fake only creates sessions with mode=subscription.",
                Some("mode"),
            ));
        }
        let price = param(p, "line_items[0][price]").ok_or_else(|| missing("line_items"))?;
        if param(p, "line_items[0][quantity]").is_none() {
            return Err(missing("line_items[0][quantity]"));
        }
        let success_url = param(p, "success_url").ok_or_else(|| missing("success_url"))?;
        if param(p, "customer").is_some() && param(p, "customer_email").is_some() {
            return Err(Outcome::err(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "You may only specify one of these parameters: customer, customer_email.",
                Some("customer_email"),
            ));
        }
        let id = new_id("cs");
        let session = Session {
            id: id.clone(),
            user_id: param(p, "client_reference_id")
                .unwrap_or_default()
                .to_owned(),
            price: price.to_owned(),
            customer: param(p, "customer").map(str::to_owned),
            success_url: success_url.replace("{CHECKOUT_SESSION_ID}", &id),
            cancel_url: param(p, "cancel_url").unwrap_or_default().to_owned(),
        };
        let url = format!("{}/pay/{id}", shared.base);
        let body = json!({
            "id": id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "payment_status": "unpaid",
            "client_reference_id": param(p, "client_reference_id"),
            "customer": session.customer,
            "customer_email": param(p, "customer_email"),
            "success_url": param(p, "success_url"),
            "cancel_url": param(p, "cancel_url"),
            "created": unix_now(),
            "expires_at": unix_now() + 24 * 3600,
            "livemode": false,
            "url": url,
        });
        lock(&shared.sessions).insert(id, session);
        Ok(body)
    })
}

/// `POST /v1/billing_portal/sessions`.
pub(crate) async fn portal(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(params): Form<Params>,
) -> Response {
    let path = "/v1/billing_portal/sessions";
    handle(&shared.clone(), path, &headers, params, |p| {
        let customer = param(p, "customer").ok_or_else(|| missing("customer"))?;
        if !customer.starts_with("cus_") {
            return Err(Outcome::err(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!("No such customer: '{customer}'"),
                Some("customer"),
            ));
        }
        let id = new_id("bps");
        let return_url = param(p, "return_url").unwrap_or_default().to_owned();
        let body = json!({
            "id": id,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": return_url,
            "created": unix_now(),
            "livemode": false,
            "url": format!("{}/portal/{id}", shared.base),
        });
        lock(&shared.portals).insert(
            id,
            Portal {
                customer: customer.to_owned(),
                return_url,
            },
        );
        Ok(body)
    })
}

/// A 404 in Stripe's shape for everything else under `/v1`.
pub(crate) async fn unknown() -> Response {
    let o = Outcome::err(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "Unrecognized request URL.",
        None,
    );
    (o.status, Json(o.body)).into_response()
}
