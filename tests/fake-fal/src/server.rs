//! The HTTP server: routes, and a hand-written accept loop that applies the "down" modes and
//! injected failures before routing (a closed connection needs to sit below axum).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Request, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::config::{DownMode, Route};
use crate::queue::{self, detail};
use crate::state::Shared;
use crate::{admin, files};

/// Largest submit body (inputs may carry `data:` URIs).
const SUBMIT_LIMIT: usize = 64 * 1024 * 1024;
/// Largest upload.
const UPLOAD_LIMIT: usize = 512 * 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/rest/.well-known/jwks.json", get(files::jwks))
        .route("/rest/storage/upload/initiate", post(files::initiate))
        .route(
            "/upload/{token}",
            put(files::upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/files/{*path}", get(files::files))
        .route("/q/{*path}", get(queue::given_url).put(queue::given_url))
        .route(
            "/{*path}",
            post(queue::submit)
                .get(queue::naive_url)
                .put(queue::naive_url),
        )
        .merge(admin::routes())
        .layer(DefaultBodyLimit::max(SUBMIT_LIMIT))
        .with_state(shared)
}

/// Which kind of request a method and path are, for `fail_next_on`.
fn classify(method: &Method, path: &str) -> Route {
    if path == "/rest/.well-known/jwks.json" {
        Route::Jwks
    } else if path.starts_with("/rest/storage/") || path.starts_with("/upload/") {
        Route::Storage
    } else if path.starts_with("/files/") {
        Route::Files
    } else if method == Method::POST {
        Route::Submit
    } else if method == Method::PUT && path.ends_with("/cancel") {
        Route::Cancel
    } else if path.ends_with("/status") {
        Route::Status
    } else if path.contains("/requests/") {
        Route::Result
    } else {
        Route::Any
    }
}

/// The service's error: hyper closes the connection without answering.
#[derive(Debug)]
struct CloseConnection;

impl std::fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fake fal is down: closing the connection")
    }
}

impl std::error::Error for CloseConnection {}

async fn handle(
    router: Router,
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response, CloseConnection> {
    if req.uri().path().starts_with("/_fake/") {
        let resp: Result<Response, Infallible> = router.oneshot(req.map(Body::new)).await;
        return Ok(resp.unwrap_or_else(|e| match e {}));
    }
    shared.bump(&shared.counters.requests);
    match shared.controls.down() {
        DownMode::CloseConnection => return Err(CloseConnection),
        DownMode::Unavailable => {
            return Ok(detail(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
            ))
        }
        DownMode::Up => {}
    }
    let route = classify(req.method(), req.uri().path());
    if let Some(status) = shared.controls.take_failure(route) {
        shared.bump(&shared.counters.injected_failures);
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Ok(detail(code, &format!("Injected failure ({status})")));
    }
    let resp: Result<Response, Infallible> = router.oneshot(req.map(Body::new)).await;
    Ok(resp.unwrap_or_else(|e| match e {}))
}

/// Serves until the task is aborted (which also aborts every open connection).
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let router = router(shared.clone());
    let mut conns = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors and the like: give the system a moment.
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                continue;
            }
        };
        while conns.try_join_next().is_some() {}
        if shared.controls.down() == DownMode::CloseConnection {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let (router, shared) = (router.clone(), shared.clone());
        conns.spawn(async move {
            let svc =
                hyper::service::service_fn(move |req| handle(router.clone(), shared.clone(), req));
            let _ = Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
