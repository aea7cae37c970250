//! Assembles the application: routes, OpenAPI document, middleware (request id, tracing,
//! metrics, per-IP limit, timeouts, body limits, compression, draining of unread bodies) and
//! JSON fallbacks.

use crate::error::ApiError;
use crate::extract::{check_limit, client_ip};
use crate::routes;
use crate::state::AppState;
use axum::body::{Body, BodyDataStream, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use iskra_protocol::{ErrorBody, ErrorCode, ErrorDetail};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::response::ResponseBuilder;

/// Header carrying the request id on every request and response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> Response {
    let body = ErrorBody {
        error: ErrorDetail::new(ErrorCode::BadRequest, "method not allowed on this route"),
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// Counts every request against the per-IP limit (keyed by a salted hash of the IP).
async fn ip_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(ip) = client_ip(&state, req.extensions(), req.headers()) {
        let key = format!("ip:{}", iskra_limiter::hash_ip(&ip, &state.ip_salt));
        if let Err(e) = check_limit(&state, &key, &state.config.rate_limits.ip.rules(), None).await
        {
            return e.into_response();
        }
    }
    next.run(req).await
}

/// Longest time spent reading and discarding the unread rest of a request body.
const DRAIN_TIME: Duration = Duration::from_secs(30);

/// A request body that, when a handler drops it unfinished (an early 413, 403, 404, 401, 429…),
/// reads and discards the rest in the background: a client still sending then receives the
/// answer instead of a reset connection (a staged close, RFC 9112 §9.6). At most `cap` bytes or
/// [`DRAIN_TIME`] are spent; past that the connection closes as it would have.
struct DrainOnDrop {
    rest: Option<BodyDataStream>,
    cap: u64,
}

impl Stream for DrainOnDrop {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(rest) = self.rest.as_mut() else {
            return Poll::Ready(None);
        };
        let next = std::task::ready!(rest.poll_next_unpin(cx));
        if !matches!(next, Some(Ok(_))) {
            self.rest = None;
        }
        Poll::Ready(next)
    }
}

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        let (Some(mut rest), Ok(rt)) = (self.rest.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let cap = self.cap;
        rt.spawn(tokio::time::timeout(DRAIN_TIME, async move {
            let mut seen: u64 = 0;
            while let Some(Ok(chunk)) = rest.next().await {
                seen += chunk.len() as u64;
                if seen > cap {
                    break;
                }
            }
        }));
    }
}

/// Wraps non-empty request bodies in [`DrainOnDrop`] (bodies declared larger than twice the
/// upload limit are left alone).
async fn drain_unread_bodies(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cap = state.config.max_upload_bytes.saturating_mul(2);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if req.body().is_end_stream() || declared.is_some_and(|n| n > cap) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let body = Body::from_stream(DrainOnDrop {
        rest: Some(body.into_data_stream()),
        cap,
    });
    next.run(Request::from_parts(parts, body)).await
}

/// The whole application for `state`.
pub fn router(state: AppState) -> Router {
    let cfg = &state.config;
    let timeout = Duration::from_secs(cfg.request_timeout_secs);
    let (json, mut api) = routes::json_routes()
        .layer(DefaultBodyLimit::max(cfg.max_json_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .split_for_parts();
    let (streams, stream_api) = routes::stream_routes()
        .layer(DefaultBodyLimit::disable())
        .split_for_parts();
    api.merge(stream_api);
    api.paths.add_path_operation(
        "/openapi.json",
        vec![HttpMethod::Get],
        OperationBuilder::new()
            .tag("operations")
            .summary(Some("This OpenAPI document"))
            .response(
                "200",
                ResponseBuilder::new().description("OpenAPI 3.1 document (JSON)"),
            ),
    );
    api.info.version = env!("CARGO_PKG_VERSION").into();
    // Install the metrics recorder now: counts made before the first scrape must not be lost.
    crate::metrics::handle();
    let doc = Arc::new(crate::openapi::complete(&api));
    Router::new()
        .merge(json)
        .merge(streams)
        .route("/openapi.json", get(move || async move { Json(doc.as_ref().clone()) }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), ip_limit))
        .layer(middleware::from_fn_with_state(state.clone(), drain_unread_bodies))
        .layer(middleware::from_fn(crate::metrics::track))
        .layer(middleware::from_fn(crate::sharing::headers::security_headers))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// The metrics listener's application: `GET /metrics` without credentials (bind it to a
/// private address; see `metrics_listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move {
                routes::health::render_metrics(&state)
            }),
        )
        .fallback(not_found)
        .with_state(state)
}
