//! A first free generation before sign-in (S6): who the caller is (a signed-in user, or an
//! anonymous client known only by a salted hash of its address), the anonymous quota, the job
//! run for an anonymous client on the ordinary pipeline, its capability URL, and the sweep that
//! removes expired results.
//!
//! An anonymous job belongs to [`OWNER`], a system user no token can name (its id holds a
//! control character, which the authenticator refuses in every `sub`), so no signed-in user
//! can list or read it. Only the requester learns the job's capability token (returned once,
//! in the 202); the database keeps its SHA-256. The result is readable for
//! `anonymous.result_ttl_secs` (24 h) at `GET /v1/generations/anonymous/{token}`; then the
//! maintenance sweep deletes the job and its stored outputs.

pub mod proxies;
pub mod quota;

pub use proxies::TrustedProxies;

use crate::config::Windows;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, MaybeAuth};
use crate::state::AppState;
use crate::store::generations::{GenRow, NewJob};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use iskra_protocol::{GenerationKind, NewGeneration};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::time::Duration;
use uuid::Uuid;

/// The system owner of anonymous jobs and their outputs.
pub const OWNER: &str = "\u{1}anonymous";

/// Expired results removed per sweep round (the sweep repeats until none are left).
const SWEEP_BATCH: i64 = 100;

/// Settings of anonymous use (`[anonymous]`, `ISKRA_ANONYMOUS__…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnonymousSettings {
    /// How long an anonymous result stays readable (and stored).
    pub result_ttl_secs: u64,
    /// Where an anonymous client is sent to sign up (`upgradeUrl` of its 429 and quota).
    pub sign_up_url: String,
    /// How often the maintenance sweep removes expired results.
    pub sweep_secs: u64,
    /// Email captures per client IP (hashed), `POST /v1/images/capture-email`.
    pub capture_per_ip: Windows,
}

impl Default for AnonymousSettings {
    fn default() -> Self {
        Self {
            result_ttl_secs: 86_400,
            sign_up_url: "iskra://sign-in".into(),
            sweep_secs: 600,
            capture_per_ip: Windows {
                minute: 5,
                hour: 20,
                day: 0,
            },
        }
    }
}

impl AnonymousSettings {
    pub fn validate(&self) -> Result<(), String> {
        if self.result_ttl_secs == 0 || self.sweep_secs == 0 {
            return Err(
                "anonymous.result_ttl_secs and anonymous.sweep_secs must be positive".into(),
            );
        }
        Ok(())
    }
}

/// The client address of a request as an extractor (`0.0.0.0` when the server does not know
/// the peer).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self(
            crate::extract::client_ip(state, &parts.extensions, &parts.headers)
                .unwrap_or(IpAddr::from([0, 0, 0, 0])),
        ))
    }
}

/// Who sent a request: a signed-in user (any credentials present are checked as usual — a bad
/// token is 401, never a fallback to anonymous) or a client without credentials.
pub enum Caller {
    User(Auth),
    Anonymous(IpAddr),
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let MaybeAuth(Some(auth)) = MaybeAuth::from_request_parts(parts, state).await? {
            return Ok(Caller::User(auth));
        }
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        Ok(Caller::Anonymous(ip))
    }
}

/// SHA-256 (hex) of a capability token: what the database keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh capability token: 256 random bits, URL-safe.
fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An accepted anonymous job and the capability only its requester receives.
pub struct Accepted {
    pub row: GenRow,
    pub token: String,
    pub expires_at: i64,
}

/// Refuses what only signed-in users may ask for.
fn sign_in_for(what: &str) -> ApiError {
    ApiError::Unauthenticated(format!(
        "sign in for {what}; without an account one text-to-image generation a day is free"
    ))
}

/// Accepts an anonymous request: a text-to-image of one image, checked like any other, then
/// the day's anonymous quota of `ip` (429 once used), then the queued job on the pipeline.
pub async fn submit(state: &AppState, ip: IpAddr, req: &NewGeneration) -> ApiResult<Accepted> {
    if req.kind != GenerationKind::TextToImage {
        return Err(sign_in_for(&format!("{} generations", req.kind.as_str())));
    }
    if req.image_asset_id.is_some() || req.project_id.is_some() || req.element_id.is_some() {
        return Err(sign_in_for("projects and reference images"));
    }
    if state.gen.fal.is_none() {
        return Err(ApiError::Unavailable(
            "generation is not available on this server (no fal key is configured)".into(),
        ));
    }
    req.validate()
        .map_err(|(field, msg)| ApiError::field(field, msg))?;
    let params = req.params.clone().unwrap_or_default();
    if params.num_images.unwrap_or(1) > 1 {
        return Err(ApiError::field(
            "params.numImages",
            "without an account a generation makes one image",
        ));
    }
    let model = crate::generation::check_model(state, req.kind, req.model.as_deref(), &params)?;
    let job = NewJob {
        id: Uuid::new_v4().to_string(),
        user_id: OWNER.to_owned(),
        kind: req.kind.as_str().to_owned(),
        model: model.id.clone(),
        prompt: req.prompt.clone(),
        params: serde_json::to_string(&params).map_err(ApiError::internal)?,
        image_asset_id: None,
        project_id: None,
        element_id: None,
    };
    quota::take(state, ip).await?;
    state.store.ensure_anonymous_owner(OWNER).await?;
    let token = new_token();
    let expires_at = crate::store::now_ms() + state.config.anonymous.result_ttl_secs as i64 * 1_000;
    let row = state
        .store
        .insert_anonymous_generation(&job, &token_hash(&token), expires_at)
        .await?;
    metrics::counter!("iskra_generations_total", "event" => "submitted").increment(1);
    state.gen.wake();
    Ok(Accepted {
        row,
        token,
        expires_at,
    })
}

/// The job a capability token opens, with its expiry; `None` when unknown or expired.
pub async fn by_token(state: &AppState, token: &str) -> ApiResult<Option<(GenRow, i64)>> {
    Ok(state
        .store
        .anonymous_generation(&token_hash(token), crate::store::now_ms())
        .await?)
}

/// Why the sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("database: {0}")]
    Store(#[from] sqlx::Error),
    #[error("storage: {0}")]
    Blobs(#[from] crate::blobs::BlobError),
}

/// Removes the anonymous results expired at `now` (Unix ms) whose jobs have ended: the job,
/// its capability, and each output no other anonymous job names (row, then file). Returns
/// how many results it removed. Safe on several replicas at once: each step is idempotent.
pub async fn sweep(state: &AppState, now: i64) -> Result<usize, SweepError> {
    let mut removed = 0;
    loop {
        let batch = state.store.expired_anonymous(now, SWEEP_BATCH).await?;
        let n = batch.len();
        for expired in batch {
            let outputs: Vec<String> = expired
                .outputs
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or_default();
            for sha in outputs {
                let hex = sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit());
                if !hex
                    || state
                        .store
                        .owner_output_in_use(OWNER, &sha, &expired.generation_id)
                        .await?
                {
                    continue;
                }
                // Row, then file; both are no-ops when a sweep that stopped halfway did them.
                state.store.delete_asset(OWNER, &sha).await?;
                state
                    .blobs
                    .delete(&crate::blobs::asset_key(OWNER, &sha))
                    .await?;
            }
            // The job goes last, so a sweep that stops halfway finds it again.
            state
                .store
                .delete_anonymous_generation(&expired.generation_id)
                .await?;
            removed += 1;
        }
        if n < SWEEP_BATCH as usize {
            return Ok(removed);
        }
    }
}

/// Runs [`sweep`] now and every `anonymous.sweep_secs` until shutdown.
pub async fn run_sweeps(state: AppState) {
    let mut stop = state.shutdown.clone();
    let every = Duration::from_secs(state.config.anonymous.sweep_secs);
    loop {
        match sweep(&state, crate::store::now_ms()).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "removed expired anonymous results"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "anonymous result sweep failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
