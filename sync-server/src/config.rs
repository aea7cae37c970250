//! Server configuration: defaults, an optional TOML file (`ISKRA_CONFIG`) and `ISKRA_*`
//! environment variables, which win. Nested settings use `__` in the environment
//! (`ISKRA_TIERS__FREE__IMAGES=200`).
//!
//! Everything a deployment tunes lives here, including tier limits and rate-limit windows, so
//! operators never need a rebuild to change a number.

pub mod credits;
pub mod generation;

pub use credits::CreditSettings;
pub use generation::GenerationSettings;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use iskra_limiter::{Rule, Window};
use iskra_protocol::Tier;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// How bearer tokens are verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Tokens minted by `iskra-server token`; loopback only.
    Dev,
    /// Clerk session tokens and OAuth access tokens verified against the instance JWKS.
    Clerk,
}

/// Storage limits of one tier (-1 = unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierLimits {
    pub images: i64,
    pub videos: i64,
    pub bytes: i64,
}

/// Storage limits per tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tiers {
    pub free: TierLimits,
    pub pro: TierLimits,
    pub enterprise: TierLimits,
}

impl Tiers {
    pub fn get(&self, tier: Tier) -> TierLimits {
        match tier {
            Tier::Free => self.free,
            Tier::Pro => self.pro,
            Tier::Enterprise => self.enterprise,
        }
    }
}

/// Per-minute, per-hour and per-day counts (-1 = unlimited, 0 = window not used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Windows {
    pub minute: i64,
    pub hour: i64,
    pub day: i64,
}

impl Windows {
    /// The limiter rules of the windows in use.
    pub fn rules(&self) -> Vec<Rule> {
        [
            (Window::Minute, self.minute),
            (Window::Hour, self.hour),
            (Window::Day, self.day),
        ]
        .into_iter()
        .filter(|(_, limit)| *limit != 0)
        .map(|(window, limit)| Rule { window, limit })
        .collect()
    }
}

/// Generation windows of one tier (enforced by the generation pipeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationWindows {
    pub standard: Windows,
    pub video: Windows,
}

/// Rate limits (S6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    /// General requests per authenticated user.
    pub user: Windows,
    /// General requests per client IP (keyed by a salted SHA-256 of the IP).
    pub ip: Windows,
    pub generation_free: GenerationWindows,
    pub generation_pro: GenerationWindows,
    pub generation_enterprise: GenerationWindows,
    /// Anonymous generation (keyed by the hashed IP).
    pub generation_anonymous: Windows,
}

impl RateLimits {
    pub fn generation(&self, tier: Tier) -> GenerationWindows {
        match tier {
            Tier::Free => self.generation_free,
            Tier::Pro => self.generation_pro,
            Tier::Enterprise => self.generation_enterprise,
        }
    }
}

/// The whole configuration; see `.env.example` and `iskra-server.example.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub public_url: Option<String>,
    pub database_url: Option<String>,
    pub storage_url: Option<String>,
    pub redis_url: Option<String>,
    /// Prefix of every Redis key this deployment uses.
    pub redis_prefix: String,
    pub auth_mode: AuthMode,
    pub clerk_issuer: Option<String>,
    pub clerk_jwks_url: Option<String>,
    /// Comma-separated list of allowed `azp` values.
    pub clerk_authorized_parties: Option<String>,
    pub max_upload_bytes: u64,
    pub max_json_bytes: usize,
    pub max_image_pixels: u64,
    pub signed_url_ttl_secs: u64,
    /// HMAC key for signed file URLs and dev tokens; generated into the data dir when absent.
    pub signing_secret: Option<String>,
    /// fal API key (`Authorization: Key …`); none turns generation off.
    pub fal_key: Option<String>,
    /// fal's queue API (`https://queue.fal.run`).
    pub fal_queue_url: String,
    /// JWKS of fal's webhook signing keys.
    pub fal_jwks_url: String,
    /// fal's REST API (storage uploads of large inputs).
    pub fal_rest_url: String,
    pub clerk_webhook_secret: Option<String>,
    pub stripe_webhook_secret: Option<String>,
    /// Stripe secret key (`sk_…`); none: the billing endpoints answer 503.
    pub stripe_secret_key: Option<String>,
    /// Stripe's API (`https://api.stripe.com`).
    pub stripe_api_url: String,
    /// The Stripe price id of the pro plan (Checkout and subscription events).
    pub stripe_price_pro: Option<String>,
    /// The Stripe price id of the enterprise plan.
    pub stripe_price_enterprise: Option<String>,
    /// Where Stripe Checkout and the portal send the browser back to.
    pub billing_return_url: String,
    pub upgrade_url: String,
    /// `json` (default) or `pretty`.
    pub log_format: String,
    /// Seconds a request may take before it is answered 503 (uploads and SSE excepted).
    pub request_timeout_secs: u64,
    /// Address of the metrics listener (`GET /metrics`, Prometheus); empty or `off`: none.
    pub metrics_listen: String,
    /// Bearer token that also allows `GET /metrics` on the API listener; none: refused there.
    pub metrics_token: Option<String>,
    /// Program that takes a shared video's poster frame for its link preview (a path, or a
    /// name looked up on PATH); empty: videos get the neutral placeholder.
    pub ffmpeg: String,
    pub tiers: Tiers,
    pub rate_limits: RateLimits,
    pub generation: GenerationSettings,
    pub credits: CreditSettings,
    pub accounts: crate::accounts::AccountSettings,
    /// Proxies whose `X-Forwarded-For` names the client (comma-separated IPs and CIDRs; none
    /// by default: the TCP peer is the client).
    pub trusted_proxies: String,
    /// Salt of client IP hashes; derived from the signing secret when absent.
    pub ip_hash_salt: Option<String>,
    /// Anonymous use: the free generation's result, the sign-up link, email capture limits.
    pub anonymous: crate::anonymous::AnonymousSettings,
    pub api_keys: crate::api_keys::ApiKeySettings,
}

/// 25 MiB, the default upload limit of docs/api.md.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 26_214_400;
const MB: i64 = 1_000_000;

impl Default for Config {
    fn default() -> Self {
        let std_gen = |day| Windows {
            minute: 5,
            hour: 15,
            day,
        };
        let video = Windows {
            minute: 2,
            hour: 4,
            day: 8,
        };
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            data_dir: default_data_dir(),
            public_url: None,
            database_url: None,
            storage_url: None,
            redis_url: None,
            redis_prefix: "iskra".into(),
            auth_mode: AuthMode::Dev,
            clerk_issuer: None,
            clerk_jwks_url: None,
            clerk_authorized_parties: None,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            max_json_bytes: 1_048_576,
            max_image_pixels: 100_000_000,
            signed_url_ttl_secs: 900,
            signing_secret: None,
            fal_key: None,
            fal_queue_url: "https://queue.fal.run".into(),
            fal_jwks_url: "https://rest.alpha.fal.ai/.well-known/jwks.json".into(),
            fal_rest_url: "https://rest.alpha.fal.ai".into(),
            clerk_webhook_secret: None,
            stripe_webhook_secret: None,
            stripe_secret_key: None,
            stripe_api_url: "https://api.stripe.com".into(),
            stripe_price_pro: None,
            stripe_price_enterprise: None,
            billing_return_url: "iskra://billing".into(),
            upgrade_url: "iskra://upgrade".into(),
            log_format: "json".into(),
            request_timeout_secs: 30,
            metrics_listen: "127.0.0.1:9464".into(),
            metrics_token: None,
            ffmpeg: "ffmpeg".into(),
            tiers: Tiers {
                free: TierLimits {
                    images: 100,
                    videos: 20,
                    bytes: 500 * MB,
                },
                pro: TierLimits {
                    images: 1_000,
                    videos: 200,
                    bytes: 5_000 * MB,
                },
                enterprise: TierLimits {
                    images: 10_000,
                    videos: 2_000,
                    bytes: 50_000 * MB,
                },
            },
            rate_limits: RateLimits {
                user: Windows {
                    minute: 1_200,
                    hour: 0,
                    day: 0,
                },
                ip: Windows {
                    minute: 2_400,
                    hour: 0,
                    day: 0,
                },
                generation_free: GenerationWindows {
                    standard: std_gen(10),
                    video,
                },
                generation_pro: GenerationWindows {
                    standard: std_gen(50),
                    video,
                },
                generation_enterprise: GenerationWindows {
                    standard: Windows {
                        minute: 5,
                        hour: 15,
                        day: -1,
                    },
                    video: Windows {
                        minute: 2,
                        hour: 4,
                        day: -1,
                    },
                },
                generation_anonymous: Windows {
                    minute: 0,
                    hour: 0,
                    day: 1,
                },
            },
            generation: GenerationSettings::default(),
            credits: CreditSettings::default(),
            accounts: crate::accounts::AccountSettings::default(),
            trusted_proxies: String::new(),
            ip_hash_salt: None,
            anonymous: crate::anonymous::AnonymousSettings::default(),
            api_keys: crate::api_keys::ApiKeySettings::default(),
        }
    }
}

fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("iskra-server");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/iskra-server"),
        None => PathBuf::from(".iskra-data"),
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, then the TOML file named by `ISKRA_CONFIG` (if any), then `ISKRA_*` variables.
    pub fn load() -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = std::env::var_os("ISKRA_CONFIG") {
            fig = fig.merge(Toml::file_exact(PathBuf::from(path)));
        }
        fig = fig.merge(Env::prefixed("ISKRA_").ignore(&["config"]).split("__"));
        let cfg: Config = fig.extract().map_err(Box::new)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks cross-field rules (Clerk mode needs an issuer; dev mode stays on loopback).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.auth_mode == AuthMode::Dev && !self.listen.ip().is_loopback() {
            return Err(ConfigError::Invalid(format!(
                "dev auth mode only listens on a loopback address, not {}; \
                 set ISKRA_AUTH_MODE=clerk for a public server",
                self.listen
            )));
        }
        if self.auth_mode == AuthMode::Clerk && self.clerk_issuer.is_none() {
            return Err(ConfigError::Invalid(
                "ISKRA_CLERK_ISSUER is required in clerk mode".into(),
            ));
        }
        self.generation.validate().map_err(ConfigError::Invalid)?;
        self.credits.validate().map_err(ConfigError::Invalid)?;
        self.accounts.validate().map_err(ConfigError::Invalid)?;
        self.anonymous.validate().map_err(ConfigError::Invalid)?;
        crate::anonymous::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        self.metrics_addr()?;
        self.api_keys.validate().map_err(ConfigError::Invalid)?;
        if self.max_upload_bytes == 0 || self.max_json_bytes == 0 {
            return Err(ConfigError::Invalid("body limits must be positive".into()));
        }
        Ok(())
    }

    /// The metrics listener's address (`None`: no metrics listener).
    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        match self.metrics_listen.trim() {
            "" | "off" => Ok(None),
            addr => addr.parse().map(Some).map_err(|_| {
                ConfigError::Invalid(format!("metrics_listen {addr:?} is not an address"))
            }),
        }
    }

    /// The allowed `azp` values.
    pub fn authorized_parties(&self) -> Vec<String> {
        self.clerk_authorized_parties
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let c = Config::default();
        assert_eq!(
            c.tiers.free,
            TierLimits {
                images: 100,
                videos: 20,
                bytes: 500 * MB
            }
        );
        assert_eq!(c.rate_limits.generation_free.standard.rules().len(), 3);
        assert_eq!(c.rate_limits.generation_anonymous.rules().len(), 1);
        assert!(c.validate().is_ok());
    }

    /// The example file in the repository root shows the defaults exactly (the sections a
    /// deployment tunes most: the model catalogue, credits, account deletion).
    #[test]
    fn the_example_file_shows_the_defaults() {
        let text = include_str!("../../iskra-server.example.toml");
        let cfg: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(text))
            .extract()
            .expect("the example configuration loads");
        let defaults = Config::default();
        assert_eq!(cfg.generation, defaults.generation);
        assert_eq!(cfg.credits, defaults.credits);
        assert_eq!(cfg.accounts, defaults.accounts);
        assert_eq!(cfg.anonymous, defaults.anonymous);
        assert_eq!(cfg.trusted_proxies, defaults.trusted_proxies);
        assert_eq!(cfg.api_keys, defaults.api_keys);
        assert_eq!(cfg.tiers, defaults.tiers);
        assert_eq!(cfg.rate_limits, defaults.rate_limits);
        assert_eq!(cfg.metrics_listen, defaults.metrics_listen);
    }

    #[test]
    fn dev_mode_refuses_public_addresses() {
        let c = Config {
            listen: "0.0.0.0:8787".parse().unwrap(),
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }
}
