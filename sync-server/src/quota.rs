//! The quota service: the storage and generation state of a user (or an anonymous client) as
//! `GET /v1/quota` and 403/429 bodies report it, and the limiter keys of generation windows.

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::assets::storage_quota;
use crate::store::users::UserRow;
use chrono::SecondsFormat;
use iskra_limiter::{Decision, Rule};
use iskra_protocol::{GenerationQuota, Quota, Tier, WindowStatus};
use std::net::IpAddr;

/// Limiter key of a user's standard (image) generations.
pub fn standard_key(user: &str) -> String {
    format!("gen:standard:{user}")
}

/// Limiter key of a user's video generations.
pub fn video_key(user: &str) -> String {
    format!("gen:video:{user}")
}

/// Limiter key of anonymous generations from an IP today (hashed, never stored raw; see
/// [`crate::anonymous::quota`]).
pub fn anonymous_key(state: &AppState, ip: Option<IpAddr>) -> String {
    let ip = ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    crate::anonymous::quota::key(&state.ip_salt, ip, state.clock.now())
}

fn windows(d: Decision) -> Vec<WindowStatus> {
    d.windows
        .into_iter()
        .map(|w| WindowStatus {
            window: w.window.as_str().to_owned(),
            limit: w.limit,
            used: w.used,
            remaining: w.remaining,
            resets_at: w.resets_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
        .collect()
}

async fn peek(state: &AppState, key: &str, rules: &[Rule]) -> Result<Vec<WindowStatus>, ApiError> {
    let d = state
        .limiter
        .peek(key, rules, state.clock.now())
        .await
        .map_err(ApiError::internal)?;
    Ok(windows(d))
}

/// The quota of a signed-in user.
pub async fn for_user(state: &AppState, user: &UserRow) -> Result<Quota, ApiError> {
    let tier = user.tier();
    let limits = state.config.tiers.get(tier);
    let gen = state.config.rate_limits.generation(tier);
    Ok(Quota {
        tier,
        is_anonymous: false,
        storage: storage_quota(user.used_bytes, user.image_count, user.video_count, limits),
        generation: GenerationQuota {
            standard: peek(state, &standard_key(&user.id), &gen.standard.rules()).await?,
            video: peek(state, &video_key(&user.id), &gen.video.rules()).await?,
        },
        upgrade_url: state.config.upgrade_url.clone(),
    })
}

/// The quota of a client that is not signed in: no storage, the anonymous generation window.
pub async fn anonymous(state: &AppState, ip: Option<IpAddr>) -> Result<Quota, ApiError> {
    let none = crate::config::TierLimits {
        images: 0,
        videos: 0,
        bytes: 0,
    };
    let rules = state.config.rate_limits.generation_anonymous.rules();
    Ok(Quota {
        tier: Tier::Free,
        is_anonymous: true,
        storage: storage_quota(0, 0, 0, none),
        generation: GenerationQuota {
            standard: peek(state, &anonymous_key(state, ip), &rules).await?,
            video: Vec::new(),
        },
        upgrade_url: state.config.anonymous.sign_up_url.clone(),
    })
}
