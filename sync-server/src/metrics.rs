//! Prometheus metrics: one process-wide recorder, and the HTTP middleware that counts requests
//! and their latency by method, matched route and status.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus handle (installed on first use).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // A second server in the same process (tests) shares the first recorder.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Counts each request (`iskra_http_requests_total`) and its latency
/// (`iskra_http_request_duration_seconds`).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route)];
    metrics::counter!(
        "iskra_http_requests_total",
        &[
            ("method", labels[0].1.clone()),
            ("route", labels[1].1.clone()),
            ("status", status)
        ]
    )
    .increment(1);
    metrics::histogram!("iskra_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    res
}
