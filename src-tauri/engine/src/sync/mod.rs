//! The sync client (D4, S3): flushes the outbox to the server in order per project with backoff,
//! pulls other devices' changes into the engine with the protocol's LWW merge, and follows the
//! server's event stream for live updates.
//!
//! [`SyncClient::sync_once`] is one pass (push every due operation, then pull); [`SyncClient::
//! watch`] refreshes the generation model catalogue and the credit balance, then keeps passing — when the outbox grows, when the server announces a change, and when
//! a backoff expires — until told to stop. Store calls run on the blocking pool so a slow
//! `fsync` never stalls the async runtime.

pub mod anonymous;
mod api;
pub mod api_keys;
pub mod autosave;
mod backoff;
mod credits;
mod error;
mod events;
mod flush;
mod generations;
pub mod sharing;
mod status;
mod uploads;

pub use api::{ApiClient, UploadProgress};
pub use autosave::AutosaveState;
pub use backoff::retry_delay;
pub use error::SyncError;
pub use flush::SyncReport;
pub use status::{status, SyncStatus};
pub use uploads::UPLOAD_PAUSE;

use crate::auth::{AuthError, Session};
use crate::store::assets::AssetRecord;
use crate::store::settings;
use crate::Engine;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Longest wait between two passes of [`SyncClient::watch`] when nothing wakes it.
pub const IDLE_PASS_INTERVAL: Duration = Duration::from_secs(60);
/// Shortest wait between a failed pass and the next, so a failing server is not hammered.
pub const MIN_PASS_INTERVAL: Duration = Duration::from_millis(500);

/// Syncs one engine with one server under one session.
#[derive(Clone)]
pub struct SyncClient {
    engine: Engine,
    api: ApiClient,
    /// The OAuth session, refreshed before a pass when its token is about to expire.
    session: Option<Arc<Session>>,
}

impl SyncClient {
    /// A client for `server` with a session token.
    pub fn new(engine: Engine, server: &str, token: &str) -> Result<Self, SyncError> {
        let api = ApiClient::new(server, token)?;
        engine.set_setting(settings::SERVER_URL, api.base())?;
        Ok(Self {
            engine,
            api,
            session: None,
        })
    }

    /// A client whose token comes from `session` and is refreshed transparently (before each
    /// pass, when it expires within [`crate::auth::REFRESH_MARGIN`]).
    pub fn with_session(
        engine: Engine,
        server: &str,
        session: Arc<Session>,
    ) -> Result<Self, SyncError> {
        let token = session.tokens().ok_or(SyncError::NotSignedIn)?.access_token;
        let mut client = Self::new(engine, server, &token)?;
        client.session = Some(session);
        Ok(client)
    }

    /// Refreshes the session's token when it is about to expire and hands it to the API
    /// client. A refused refresh means signing in again.
    pub async fn refresh_session(&self) -> Result<(), SyncError> {
        let Some(session) = &self.session else {
            return Ok(());
        };
        match session.access_token().await {
            Ok(token) => {
                self.api.set_token(&token);
                Ok(())
            }
            Err(AuthError::Network(m)) => Err(SyncError::Network(m)),
            Err(AuthError::NotSignedIn) => Err(SyncError::NotSignedIn),
            Err(e) => Err(SyncError::Unauthenticated {
                error: SyncError::synthetic_detail(401, e.to_string()),
            }),
        }
    }

    /// The HTTP client (for calls outside the outbox, e.g. listing server assets).
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// Reports upload progress (asset id, bytes sent, total) from now on.
    pub fn set_upload_progress(&mut self, progress: api::UploadProgress) {
        self.api.set_upload_progress(progress);
    }

    /// The engine this client syncs.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs a store call on the blocking pool.
    async fn on_engine<T, F>(&self, f: F) -> Result<T, SyncError>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> crate::Result<T> + Send + 'static,
    {
        on_engine(&self.engine, f).await
    }

    /// The cached copy of an asset, downloaded from the server on first use (lazy download:
    /// assets made on other devices arrive only when something needs their bytes).
    pub async fn fetch_asset(&self, sha256: &str) -> Result<AssetRecord, SyncError> {
        let id = sha256.to_owned();
        if let Some(cached) = self.on_engine(move |e| e.asset(&id)).await? {
            return Ok(cached);
        }
        let dir = self.engine.data_dir().join(crate::engine::ASSETS_DIR);
        let tmp = dir.join(format!(".download-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| SyncError::Local(crate::EngineError::io("creating the asset cache", e)))?;
        let fetched = self.api.download_asset(sha256, &tmp).await;
        let adopted = match fetched {
            Ok(_) => {
                let (path, id) = (tmp.clone(), sha256.to_owned());
                self.on_engine(move |e| e.adopt_downloaded_asset(&path, &id))
                    .await
            }
            Err(e) => Err(e),
        };
        let _ = std::fs::remove_file(&tmp);
        adopted
    }

    async fn set_online(&self, online: bool) -> Result<(), SyncError> {
        let v = if online { "true" } else { "false" };
        self.on_engine(move |e| e.set_setting(settings::ONLINE, v))
            .await
    }

    /// Keeps syncing until `shutdown` completes: after every local change, every server event
    /// and every expired backoff, with an idle pass every [`IDLE_PASS_INTERVAL`]. Returns early
    /// only when the session is refused (sign in again) or the store fails.
    pub async fn watch(&self, shutdown: impl Future<Output = ()>) -> Result<(), SyncError> {
        let wake = Arc::new(Notify::new());
        let queued = self.engine.outbox_signal();
        let passes = async {
            if let Err(e) = self.refresh_models().await {
                if e.stops_sync() {
                    return Err(e);
                }
                tracing::info!(error = %e, "model catalogue not refreshed; keeping the cached one");
            }
            self.refresh_credits_quietly().await?;
            loop {
                // After a failed pass the next one starts at least MIN_PASS_INTERVAL later, so a
                // failing server is not hammered; after a good pass a wake runs one at once, so a
                // server event never waits out a fixed delay.
                let started = tokio::time::Instant::now();
                let ok = match self.sync_once().await {
                    Err(e) if e.stops_sync() => return Err(e),
                    Err(e) => {
                        tracing::info!(error = %e, "sync pass incomplete; will retry");
                        false
                    }
                    Ok(report) => {
                        tracing::debug!(?report, "sync pass");
                        true
                    }
                };
                let wait = self.next_wait().await?;
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = queued.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
                if !ok {
                    tokio::time::sleep_until(started + MIN_PASS_INTERVAL).await;
                }
            }
        };
        tokio::select! {
            r = events::follow(self, Arc::clone(&wake)) => r,
            r = passes => r,
            _ = shutdown => Ok(()),
        }
    }

    /// Time until the earliest backoff of a pending operation expires (capped at idle).
    async fn next_wait(&self) -> Result<Duration, SyncError> {
        let ops = self.on_engine(|e| e.pending_ops()).await?;
        let now = crate::store::now_ms();
        let next = ops
            .iter()
            .map(|o| o.next_attempt_ms)
            .filter(|&t| t > now)
            .min();
        Ok(next
            .map(|t| Duration::from_millis(t - now))
            .unwrap_or(IDLE_PASS_INTERVAL)
            .min(IDLE_PASS_INTERVAL))
    }
}

/// Runs a store call of `engine` on the blocking pool, so a slow `fsync` never stalls the
/// async runtime.
pub(crate) async fn on_engine<T, F>(engine: &Engine, f: F) -> Result<T, SyncError>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> crate::Result<T> + Send + 'static,
{
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || f(&engine))
        .await
        .map_err(SyncError::from)?
        .map_err(SyncError::from)
}

#[cfg(test)]
mod credits_tests;
#[cfg(test)]
pub(crate) mod fake_generations;
#[cfg(test)]
pub(crate) mod fake_server;
#[cfg(test)]
mod generation_tests;
#[cfg(test)]
mod tests;
