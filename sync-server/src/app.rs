//! Assembles the application: routes, OpenAPI document, middleware (request id, tracing,
//! metrics, per-IP limit, timeouts, body limits, compression) and JSON fallbacks.

use crate::error::ApiError;
use crate::extract::{check_limit, client_ip};
use crate::routes;
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use iskra_protocol::{ErrorBody, ErrorCode, ErrorDetail};
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Header carrying the request id on every request and response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> Response {
    let body = ErrorBody { error: ErrorDetail::new(ErrorCode::BadRequest, "method not allowed on this route") };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// Counts every request against the per-IP limit (keyed by a salted hash of the IP).
async fn ip_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(ip) = client_ip(req.extensions()) {
        let key = format!("ip:{}", iskra_limiter::hash_ip(&ip, &state.ip_salt));
        if let Err(e) = check_limit(&state, &key, &state.config.rate_limits.ip.rules(), None).await {
            return e.into_response();
        }
    }
    next.run(req).await
}

/// The whole application for `state`.
pub fn router(state: AppState) -> Router {
    let cfg = &state.config;
    let timeout = Duration::from_secs(cfg.request_timeout_secs);
    let (json, mut api) = routes::json_routes()
        .layer(DefaultBodyLimit::max(cfg.max_json_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
        .split_for_parts();
    let (streams, stream_api) = routes::stream_routes().layer(DefaultBodyLimit::disable()).split_for_parts();
    api.merge(stream_api);
    api.info.version = env!("CARGO_PKG_VERSION").into();
    let doc = Arc::new(api);
    Router::new()
        .merge(json)
        .merge(streams)
        .route("/openapi.json", get(move || async move { Json(doc.as_ref().clone()) }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), ip_limit))
        .layer(middleware::from_fn(crate::metrics::track))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}
