//! `iskra-server`: the Iskra sync server as a library.
//!
//! [`router`] builds the axum application for a state (tests drive it with `oneshot`);
//! [`serve`] runs it on a bound listener until the shutdown future resolves, finishing the
//! requests in flight. The binary in `main.rs` is a thin command line over these.

pub mod accounts;
pub mod anonymous;
pub mod api_keys;
pub mod app;
pub mod auth_layers;
pub mod billing;
pub mod blobs;
pub mod config;
pub mod credits;
pub mod error;
pub mod events;
pub mod extract;
pub mod fal;
pub mod generation;
pub mod idempotency;
pub mod maintenance;
pub mod metrics;
pub mod openapi;
pub mod quota;
pub mod routes;
pub mod services;
pub mod sharing;
pub mod signing;
pub mod state;
pub mod store;
pub mod upload;
pub mod webhook_sig;

pub use app::router;
pub use config::Config;
pub use state::{AppState, StartError};

use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// The base URL for a server on `addr`: the configured public URL, else `http://addr`.
pub fn public_base(config: &Config, addr: SocketAddr) -> String {
    config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
}

/// Builds the state for `config` and serves on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let base = public_base(&config, listener.local_addr()?);
    let state = AppState::build(config, base).await?;
    if let Some(addr) = state.config.metrics_addr()? {
        match TcpListener::bind(addr).await {
            Ok(metrics) => {
                tracing::info!(address = %metrics.local_addr()?, "metrics listening");
                tokio::spawn(serve_metrics(state.clone(), metrics));
            }
            // The API still serves; the operator sees why there are no metrics.
            Err(e) => tracing::error!(%addr, error = %e, "metrics listener not bound"),
        }
    }
    serve_state(state, listener, shutdown).await
}

/// Serves `GET /metrics` on its own listener until the server shuts down.
pub async fn serve_metrics(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    let mut stop = state.shutdown.clone();
    axum::serve(listener, app::metrics_router(state))
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
}

/// Serves an already built state; open event streams end when shutdown begins.
pub async fn serve_state(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let app = router(state.clone());
    generation::worker::spawn(&state);
    accounts::deletion::spawn(&state);
    tokio::spawn(maintenance::run(
        state.tmp_dir.clone(),
        state.shutdown.clone(),
    ));
    tokio::spawn(anonymous::run_sweeps(state.clone()));
    tokio::spawn(maintenance::checkpoints(
        state.store.clone(),
        state.shutdown.clone(),
    ));
    let stopper = state.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        stopper.begin_shutdown();
    };
    // Small writes go out at once (an SSE event, a short answer): with Nagle's algorithm a
    // second write waits for the peer's delayed ACK, up to 40 ms on Linux.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await?;
    state.store.close().await;
    Ok(())
}
