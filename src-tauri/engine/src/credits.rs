//! Credits and billing as this device knows them (S8, D6): what a price is asked for
//! ([`EstimateRequest`]), what a refusal for want of credits says ([`CreditShortfall`]), the
//! account as last seen (`GET /v1/me`: email, tier, billing status — [`AccountSummary`]), and
//! why a billing page could not be had ([`BillingError`]).
//!
//! The balance itself is the server's `Credits`; the engine keeps the last one it saw (device
//! settings) so the app shows it offline, refreshed on sign-in, when a generation ends and on
//! `credits.updated` ([`crate::sync`]). Storing and reading that cache is here too.

use crate::engine::Engine;
use crate::error::Result;
use crate::store::settings;
use crate::sync::SyncError;
use iskra_protocol::{BillingStatus, Credits, ErrorCode, ErrorDetail, GenerationKind, Me, Tier};
use serde::{Deserialize, Serialize};

/// What `GET /v1/credits/estimate` prices: the generation as the form stands (`None`: the
/// model's or the server's default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EstimateRequest {
    pub kind: GenerationKind,
    pub model: Option<String>,
    pub num_images: Option<u32>,
    pub image_size: Option<String>,
    pub duration_s: Option<u32>,
}

impl EstimateRequest {
    /// The query string pairs of the estimate call.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("kind", self.kind.as_str().to_owned())];
        if let Some(m) = &self.model {
            q.push(("model", m.clone()));
        }
        if let Some(n) = self.num_images {
            q.push(("numImages", n.to_string()));
        }
        if let Some(s) = &self.image_size {
            q.push(("imageSize", s.clone()));
        }
        if let Some(d) = self.duration_s {
            q.push(("durationS", d.to_string()));
        }
        q
    }
}

/// The numbers of a `402 INSUFFICIENT_CREDITS`: what the request needed, what there was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreditShortfall {
    pub required: i64,
    pub available: i64,
}

impl CreditShortfall {
    /// From the server's error body, when it is a refusal for want of credits.
    pub fn from_detail(detail: &ErrorDetail) -> Option<Self> {
        if detail.code != ErrorCode::InsufficientCredits {
            return None;
        }
        let num = |k: &str| detail.details.get(k).and_then(serde_json::Value::as_i64);
        Some(Self {
            required: num("required")?,
            available: num("available")?,
        })
    }
}

/// The account as `GET /v1/me` last described it, kept for offline display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    /// The email, else the user id.
    pub email: String,
    pub tier: Tier,
    pub billing_status: BillingStatus,
}

/// Why a Stripe page (Checkout, the customer portal) could not be had.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// The server has no billing (no Stripe key: `503 BILLING_UNAVAILABLE`; an older server
    /// without the route: 404).
    #[error("{0}")]
    Unavailable(String),
    /// The portal was asked for before the account ever subscribed (409).
    #[error("{0}")]
    NoSubscription(String),
    /// The plan cannot be bought (422: `free`, or one the server does not sell).
    #[error("{0}")]
    Plan(String),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// What the user reads when the server has no billing.
pub const BILLING_UNAVAILABLE: &str = "Billing is not available on this server";
/// What the user reads when there is no subscription to manage yet.
pub const NO_SUBSCRIPTION: &str = "There is no subscription to manage yet: upgrade first";

impl BillingError {
    /// Classifies a failed billing call by the server's code and status.
    pub fn from_sync(e: SyncError) -> Self {
        match e {
            SyncError::Server {
                code: ErrorCode::BillingUnavailable,
                message,
                ..
            } => Self::Unavailable(message),
            SyncError::Rejected { status: 404, .. } => {
                Self::Unavailable(BILLING_UNAVAILABLE.to_owned())
            }
            SyncError::Rejected { status: 409, error } => Self::NoSubscription(
                Some(error.message)
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| NO_SUBSCRIPTION.to_owned()),
            ),
            SyncError::Rejected {
                status: 400 | 422,
                error,
            } => Self::Plan(error.message),
            other => Self::Sync(other),
        }
    }
}

impl Engine {
    /// The balance as last seen from the server (`None`: never fetched, or signed out since).
    pub fn cached_credits(&self) -> Result<Option<Credits>> {
        Ok(self
            .setting(settings::CREDITS)?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Keeps the balance the server reported (written only when it changed); true when it did.
    pub fn set_credits(&self, credits: &Credits) -> Result<bool> {
        let json = serde_json::to_string(credits)?;
        if self.setting(settings::CREDITS)?.as_deref() == Some(json.as_str()) {
            return Ok(false);
        }
        self.set_setting(settings::CREDITS, &json)?;
        Ok(true)
    }

    /// Keeps what `GET /v1/me` said (email, tier, billing status).
    pub fn remember_account(&self, me: &Me) -> Result<AccountSummary> {
        let summary = AccountSummary {
            email: me.email.clone().unwrap_or_else(|| me.id.clone()),
            tier: me.tier,
            billing_status: me.billing_status,
        };
        self.set_settings(&[
            (settings::ACCOUNT_EMAIL, Some(summary.email.as_str())),
            (settings::ACCOUNT_TIER, Some(summary.tier.as_str())),
            (
                settings::ACCOUNT_BILLING,
                Some(summary.billing_status.as_str()),
            ),
        ])?;
        Ok(summary)
    }

    /// The account as last seen (`None` before the first `GET /v1/me`).
    pub fn account_summary(&self) -> Result<Option<AccountSummary>> {
        let Some(email) = self.setting(settings::ACCOUNT_EMAIL)? else {
            return Ok(None);
        };
        let tier = self
            .setting(settings::ACCOUNT_TIER)?
            .and_then(|t| t.parse().ok())
            .unwrap_or(Tier::Free);
        let billing_status = self
            .setting(settings::ACCOUNT_BILLING)?
            .map(|s| BillingStatus::parse(&s))
            .unwrap_or_default();
        Ok(Some(AccountSummary {
            email,
            tier,
            billing_status,
        }))
    }

    /// Forgets the account and its balance (sign-out).
    pub fn forget_account(&self) -> Result<()> {
        self.set_settings(&[
            (settings::ACCOUNT_EMAIL, None),
            (settings::ACCOUNT_TIER, None),
            (settings::ACCOUNT_BILLING, None),
            (settings::CREDITS, None),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn credits(available: i64) -> Credits {
        Credits {
            available,
            reserved: 0,
            allocation: available,
            grants: 0,
            monthly_allocation: 100,
            period_ends_at: "2026-12-01T00:00:00Z".into(),
            plan: Tier::Free,
        }
    }

    #[test]
    fn the_balance_is_cached_and_forgotten() {
        let (e, _dir) = crate::engine::tests::engine();
        assert_eq!(e.cached_credits().unwrap(), None);
        let mut changes = e.changes();
        changes.borrow_and_update();
        assert!(e.set_credits(&credits(88)).unwrap());
        assert!(changes.has_changed().unwrap(), "a new balance is a change");
        changes.borrow_and_update();
        assert!(!e.set_credits(&credits(88)).unwrap());
        assert!(
            !changes.has_changed().unwrap(),
            "the same balance writes nothing"
        );
        assert_eq!(e.cached_credits().unwrap(), Some(credits(88)));
        let me = Me {
            id: "u1".into(),
            email: None,
            tier: Tier::Pro,
            created_at: "2026-01-01T00:00:00Z".into(),
            billing_status: BillingStatus::PaymentFailed,
        };
        let summary = e.remember_account(&me).unwrap();
        assert_eq!(e.account_summary().unwrap(), Some(summary.clone()));
        assert_eq!(
            (summary.email.as_str(), summary.tier, summary.billing_status),
            ("u1", Tier::Pro, BillingStatus::PaymentFailed)
        );
        e.forget_account().unwrap();
        assert_eq!(e.cached_credits().unwrap(), None);
        assert_eq!(e.account_summary().unwrap(), None);
    }

    #[test]
    fn a_refusal_for_credits_keeps_its_numbers() {
        let detail = ErrorDetail::new(ErrorCode::InsufficientCredits, "short")
            .with("required", 12)
            .with("available", 5);
        assert_eq!(
            CreditShortfall::from_detail(&detail),
            Some(CreditShortfall {
                required: 12,
                available: 5
            })
        );
        let other = ErrorDetail::new(ErrorCode::RateLimited, "slow").with("required", 1);
        assert_eq!(CreditShortfall::from_detail(&other), None);
    }

    #[test]
    fn billing_refusals_are_classified() {
        let unavailable = SyncError::Server {
            status: 503,
            code: ErrorCode::BillingUnavailable,
            message: "no Stripe key".into(),
        };
        assert!(matches!(
            BillingError::from_sync(unavailable),
            BillingError::Unavailable(m) if m == "no Stripe key"
        ));
        let down = SyncError::Server {
            status: 503,
            code: ErrorCode::Internal,
            message: "down".into(),
        };
        assert!(matches!(
            BillingError::from_sync(down),
            BillingError::Sync(_)
        ));
        let conflict = SyncError::Rejected {
            status: 409,
            error: ErrorDetail::new(ErrorCode::Conflict, ""),
        };
        assert!(matches!(
            BillingError::from_sync(conflict),
            BillingError::NoSubscription(m) if m == NO_SUBSCRIPTION
        ));
        let q = EstimateRequest {
            kind: GenerationKind::TextToImage,
            model: Some("fal-ai/flux/dev".into()),
            num_images: Some(2),
            image_size: None,
            duration_s: None,
        }
        .query();
        assert_eq!(
            json!(q),
            json!([
                ["kind", "text-to-image"],
                ["model", "fal-ai/flux/dev"],
                ["numImages", "2"]
            ])
        );
    }
}
