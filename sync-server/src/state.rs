//! Everything a request handler needs, built once at start-up from the configuration.

use crate::blobs::{self, BlobStore};
use crate::config::{AuthMode, Config};
use crate::events::EventHub;
use crate::signing::{self, UrlSigner};
use crate::store::Store;
use iskra_auth::{Authenticator, ClerkConfig, ClerkVerifier, DevAuth};
use iskra_clock::Clock;
use iskra_limiter::{Limiter, MemoryLimiter, RedisLimiter};
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Shared state of the server; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The parts of [`AppState`].
pub struct Inner {
    pub config: Config,
    pub store: Store,
    pub blobs: Arc<dyn BlobStore>,
    pub auth: Authenticator,
    pub limiter: Arc<dyn Limiter>,
    /// What "now" is for limiter windows, token expiry, the JWKS refetch interval and usage
    /// counted per UTC day: the system clock, or a manual one in tests.
    pub clock: Clock,
    pub events: EventHub,
    pub signer: UrlSigner,
    /// The generation pipeline: fal client, webhook verifier, worker identity.
    pub gen: crate::generation::Runtime,
    /// Dev-token minting (dev mode only).
    pub dev: Option<DevAuth>,
    /// Base URL clients reach this server at (for signed file URLs).
    pub public_base: String,
    /// Directory for uploads in progress (same filesystem as the local blob store).
    pub tmp_dir: PathBuf,
    /// Salt of anonymous IP hashes.
    pub ip_salt: String,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub proxies: crate::anonymous::TrustedProxies,
    /// Becomes `true` when the server starts shutting down (ends event streams).
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("storage: {0}")]
    Blobs(#[from] crate::blobs::BlobError),
    #[error("auth: {0}")]
    Auth(#[from] iskra_auth::AuthError),
    #[error("rate limiter: {0}")]
    Limiter(#[from] iskra_limiter::LimiterError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
}

/// The database URL: configured, or a SQLite file in the data directory.
pub fn database_url(config: &Config) -> String {
    config.database_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            config.data_dir.join("iskra.db").display()
        )
    })
}

/// Opens the store named by the configuration and applies migrations.
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    std::fs::create_dir_all(&config.data_dir)?;
    let store = Store::connect(&database_url(config)).await?;
    store.migrate().await?;
    Ok(store)
}

impl AppState {
    /// Signals shutdown to long-lived responses.
    pub fn begin_shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// Builds the state: store (migrated), blobs, authenticator, limiter, signer.
    pub async fn build(config: Config, public_base: String) -> Result<Self, StartError> {
        Self::build_with_clock(config, public_base, Clock::System).await
    }

    /// Like [`Self::build`], with the time read from `clock` (tests pass a manual clock).
    pub async fn build_with_clock(
        config: Config,
        public_base: String,
        clock: Clock,
    ) -> Result<Self, StartError> {
        config.validate()?;
        let store = open_store(&config).await?;
        let storage_url = config
            .storage_url
            .clone()
            .unwrap_or_else(|| format!("file://{}", config.data_dir.join("blobs").display()));
        let blobs = blobs::open(&storage_url).await?;
        let tmp_dir = config.data_dir.join("tmp");
        std::fs::create_dir_all(&tmp_dir)?;
        let secret =
            signing::load_or_create_secret(config.signing_secret.as_deref(), &config.data_dir)?;
        let dev = signing::dev_auth(&secret, clock.clone());
        let auth = match config.auth_mode {
            AuthMode::Dev => Authenticator::Dev(dev.clone()),
            AuthMode::Clerk => {
                let issuer = config.clerk_issuer.clone().unwrap_or_default();
                let jwks_url = config.clerk_jwks_url.clone().unwrap_or_else(|| {
                    format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
                });
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()?;
                Authenticator::Clerk(ClerkVerifier::with_clock(
                    ClerkConfig {
                        issuer,
                        jwks_url,
                        authorized_parties: config.authorized_parties(),
                        skew_secs: 5,
                        min_refetch_interval: Duration::from_secs(60),
                    },
                    http,
                    clock.clone(),
                )?)
            }
        };
        let (limiter, events): (Arc<dyn Limiter>, EventHub) = match &config.redis_url {
            Some(url) => (
                Arc::new(RedisLimiter::connect(url, &format!("{}:rl", config.redis_prefix)).await?),
                EventHub::with_redis(url, &config.redis_prefix).await?,
            ),
            None => (Arc::new(MemoryLimiter::new()), EventHub::default()),
        };
        let dev = (config.auth_mode == AuthMode::Dev).then_some(dev);
        let gen = crate::generation::Runtime::new(&config)?;
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        Ok(Self(Arc::new(Inner {
            shutdown,
            stop,
            store,
            blobs,
            auth,
            limiter,
            clock,
            events,
            signer: UrlSigner::new(secret.clone()),
            gen,
            dev,
            public_base: public_base.trim_end_matches('/').to_owned(),
            tmp_dir,
            ip_salt: config
                .ip_hash_salt
                .clone()
                .unwrap_or_else(|| hex::encode(signing::derive(&secret, b"iskra ip hash"))),
            proxies: crate::anonymous::TrustedProxies::parse(&config.trusted_proxies)
                .map_err(|e| crate::config::ConfigError::Invalid(e.to_string()))?,
            config,
        })))
    }
}
