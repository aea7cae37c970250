//! Email capture (seed job 5): `POST /v1/images/capture-email` records who downloads a shared
//! image without an account (a lead) and answers the download URL. No credentials; limited
//! per client IP (hashed) by `anonymous.capture_per_ip`.

use crate::anonymous::{self, ClientIp};
use crate::error::{ApiError, ApiResult};
use crate::extract::{check_limit, ApiJson};
use crate::sharing::short_id;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use iskra_protocol::ErrorBody;
use serde::{Deserialize, Serialize};

/// Body of `POST /v1/images/capture-email`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaptureEmail {
    /// `name@domain.tld`, at most 254 characters (64 before the `@`).
    #[schema(
        max_length = 254,
        pattern = "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,15})?@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?){1,3}$"
    )]
    pub email: String,
    /// The share (`/t/{shortId}`) to download.
    #[schema(pattern = "^[A-Za-z0-9_-]{8}$")]
    pub short_id: String,
}

/// Answer of `POST /v1/images/capture-email`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapturedEmail {
    /// `{public}/t/{shortId}/image`: a redirect to a fresh signed URL of the file.
    pub download_url: String,
    pub message: String,
}

/// Longest address accepted (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

/// `email` trimmed and lower-cased when it has the form `local@domain.tld`, else why not.
pub fn normalize_email(email: &str) -> Result<String, &'static str> {
    let email = email.trim().to_lowercase();
    if email.is_empty() || email.len() > MAX_EMAIL {
        return Err("must be an email address of at most 254 characters");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("must be an email address (name@example.com)");
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    if local_ok && domain_ok {
        Ok(email)
    } else {
        Err("must be an email address (name@example.com)")
    }
}

/// Records an email address for a shared image and answers its download URL. The same
/// address again (in any case) for the same share is recorded once.
#[utoipa::path(post, path = "/v1/images/capture-email", tag = "sharing", request_body = CaptureEmail,
    responses((status = 200, body = CapturedEmail), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such share (revoked, or its asset deleted)"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn capture_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<CaptureEmail>,
) -> ApiResult<Json<CapturedEmail>> {
    let key = format!("lead:{}", iskra_limiter::hash_ip(&ip, &state.ip_salt));
    let rules = state.config.anonymous.capture_per_ip.rules();
    check_limit(&state, &key, &rules, Some(anonymous::quota::TIER)).await?;
    let email = normalize_email(&req.email).map_err(|m| ApiError::field("email", m))?;
    if !short_id::is_short_id(&req.short_id) {
        return Err(ApiError::field(
            "shortId",
            "must be the 8-character id of a share link",
        ));
    }
    let share = state
        .store
        .share(&req.short_id)
        .await?
        .ok_or(ApiError::NotFound("share"))?;
    state
        .store
        .asset(&share.user_id, &share.sha256)
        .await?
        .ok_or(ApiError::NotFound("share"))?;
    if state.store.insert_lead(&share.short_id, &email).await? {
        metrics::counter!("iskra_leads_total").increment(1);
    }
    Ok(Json(CapturedEmail {
        download_url: format!(
            "{}/image",
            crate::sharing::share_url(&state, &share.short_id)
        ),
        message: "Your download is ready!".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::normalize_email;

    #[test]
    fn addresses_are_checked_and_lower_cased() {
        assert_eq!(
            normalize_email("  Ada.Lovelace+art@Example.CO.uk ").unwrap(),
            "ada.lovelace+art@example.co.uk"
        );
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@example",
            "a@@example.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@-example.com",
            "a@example.c",
            "a@example.123",
            ".a@example.com",
            "a..b@example.com",
            "a@example..com",
            "<script>@example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(normalize_email(&long).is_err());
    }
}
