//! Everything the commands share, built completely in `setup()` and handed to `app.manage`:
//! the engine, the session (tokens in the OS keyring, else memory only), where the server and
//! the sign-in issuer are, the mirror of the open canvas (so changes the UI did not make can be
//! sent as deltas), and the signals that restart sync and wake the event forwarder.

use crate::commands::account::Account;
use crate::commands::canvas::CanvasDelta;
use crate::error::{CmdResult, CommandError};
use iskra_engine::auth::{OAuthConfig, Session};
use iskra_engine::secret::{self, MemorySecretStore, SecretStore, SESSION_TOKEN};
use iskra_engine::store::settings;
use iskra_engine::sync::SyncClient;
use iskra_engine::Engine;
use iskra_protocol::Element;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tokio::sync::{watch, Notify};
use uuid::Uuid;

/// Server used when neither `ISKRA_SERVER` nor an earlier session names one (the embedded
/// default of `iskra-server`).
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8787";

/// Where the desktop talks to, read once at start from the environment and the engine's
/// settings (the environment wins).
#[derive(Debug, Clone)]
pub struct DesktopConfig {
    /// Base URL of the sync server.
    pub server: String,
    /// The OAuth issuer and client for the browser sign-in, when configured.
    pub oauth: Option<OAuthConfig>,
    /// "Manage account" link of the profile menu (`ISKRA_MANAGE_ACCOUNT_URL`).
    pub manage_url: Option<String>,
}

impl DesktopConfig {
    fn load(engine: &Engine) -> CmdResult<Self> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let server = env("ISKRA_SERVER")
            .or(engine.setting(settings::SERVER_URL)?)
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let issuer = env("ISKRA_OAUTH_ISSUER").or(engine.setting(settings::OAUTH_ISSUER)?);
        let client_id = env("ISKRA_OAUTH_CLIENT_ID").or(engine.setting(settings::OAUTH_CLIENT_ID)?);
        let oauth = match (issuer, client_id) {
            (Some(issuer), Some(client_id)) => Some(OAuthConfig { issuer, client_id }),
            _ => None,
        };
        Ok(Self {
            server,
            oauth,
            manage_url: env("ISKRA_MANAGE_ACCOUNT_URL"),
        })
    }
}

/// The data dir: `ISKRA_DATA_DIR` when set (tests, several profiles), else the platform's
/// app data dir.
pub fn data_dir(app_data_dir: Option<PathBuf>) -> CmdResult<PathBuf> {
    if let Some(d) = std::env::var_os("ISKRA_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    app_data_dir.ok_or_else(|| CommandError::Io("no app data directory on this system".into()))
}

/// What the shell last told the UI about the open project's canvas. Commands update it with
/// the deltas they answer; the event forwarder diffs the engine's canvas against it to find
/// changes made elsewhere (other devices, undo in another window).
#[derive(Debug, Default)]
pub struct CanvasMirror {
    pub project: Option<Uuid>,
    /// `updated_at` of the project when the mirror was last brought up to date.
    pub updated_at: String,
    pub elements: HashMap<Uuid, Element>,
}

impl CanvasMirror {
    /// Starts mirroring a freshly opened project.
    pub fn reset(&mut self, project: Uuid, updated_at: String, elements: &[Element]) {
        self.project = Some(project);
        self.updated_at = updated_at;
        self.elements = elements.iter().map(|e| (e.id, e.clone())).collect();
    }

    /// Takes in a delta the UI is about to receive (ignored for other projects).
    pub fn apply(&mut self, delta: &CanvasDelta, updated_at: Option<String>) {
        if self.project.map(|p| p.to_string()) != Some(delta.project_id.clone()) {
            return;
        }
        for e in &delta.upserted {
            self.elements.insert(e.id, e.clone());
        }
        for id in &delta.deleted {
            if let Ok(id) = Uuid::parse_str(id) {
                self.elements.remove(&id);
            }
        }
        if let Some(t) = updated_at {
            self.updated_at = t;
        }
    }
}

/// The managed state of the app.
pub struct AppState {
    pub engine: Engine,
    pub config: DesktopConfig,
    /// Where tokens live; `is_persistent()` is false when there is no OS keyring.
    pub secrets: Arc<dyn SecretStore>,
    pub session: Arc<Session>,
    /// The signed-in account as last known (refreshed at sign-in and start).
    pub account: RwLock<Account>,
    canvas: Mutex<CanvasMirror>,
    /// Bumped on sign-in and sign-out: the sync supervisor restarts its client.
    pub session_epoch: watch::Sender<u64>,
    /// Wakes the event forwarder now (after a command changed something).
    pub wake: Arc<Notify>,
    /// True once the app is closing: background loops stop.
    pub closing: watch::Sender<bool>,
    /// A project asked for by a deep link before the UI was listening (`recent_project`
    /// answers it first).
    pub pending_open: Mutex<Option<Uuid>>,
}

impl AppState {
    /// Opens the engine in `data_dir` and builds the session and config.
    pub fn open(data_dir: &Path) -> CmdResult<Self> {
        let engine = Engine::open(data_dir)?;
        let config = DesktopConfig::load(&engine)?;
        let secrets: Arc<dyn SecretStore> =
            match std::env::var("ISKRA_TOKEN").ok().filter(|t| !t.is_empty()) {
                // A dev token (iskra-server token --user NAME): memory only, like the CLI.
                Some(token) => {
                    let memory = MemorySecretStore::default();
                    memory.set(SESSION_TOKEN, &token);
                    Arc::new(memory)
                }
                None => secret::open_os_store(),
            };
        // Projects made while signed out stay off the account until the user answers the
        // offer of D6 (`commands::local`).
        engine.set_signed_in(secrets.get(SESSION_TOKEN).is_some());
        let session = Arc::new(Session::new(Arc::clone(&secrets), config.oauth.clone()));
        let account = crate::commands::account::cached_account(&engine, &config, &secrets);
        Ok(Self {
            engine,
            config,
            secrets,
            session,
            account: RwLock::new(account),
            canvas: Mutex::new(CanvasMirror::default()),
            session_epoch: watch::Sender::new(0),
            wake: Arc::new(Notify::new()),
            closing: watch::Sender::new(false),
            pending_open: Mutex::new(None),
        })
    }

    /// True when a session token is at hand.
    pub fn signed_in(&self) -> bool {
        self.secrets.get(SESSION_TOKEN).is_some()
    }

    /// The engine's sync client of the current session (for calls outside the sync loop).
    pub fn sync_client(&self) -> CmdResult<SyncClient> {
        Ok(SyncClient::with_session(
            self.engine.clone(),
            &self.config.server,
            Arc::clone(&self.session),
        )?)
    }

    /// The open-canvas mirror (held across an edit so the forwarder never sees half of it).
    pub fn canvas(&self) -> MutexGuard<'_, CanvasMirror> {
        self.canvas.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached account.
    pub fn account(&self) -> Account {
        self.account
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the cached account.
    pub fn set_account(&self, account: Account) {
        *self.account.write().unwrap_or_else(|p| p.into_inner()) = account;
    }

    /// Flushes everything to disk: due snapshots now (the journal and the outbox are already
    /// committed with every edit). Called when the window closes.
    pub fn flush(&self) {
        self.closing.send_replace(true);
        match self.engine.snapshot_now() {
            Ok(n) => tracing::info!(snapshots = n, "flushed on close"),
            Err(e) => tracing::error!(error = %e, "flush on close failed"),
        }
    }
}
