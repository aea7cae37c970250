//! Credits and billing wire types (S8, S11): the balance, ledger history, price estimates,
//! Stripe Checkout / portal links, and the account's billing status.

use crate::Tier;
use serde::{Deserialize, Serialize};

/// `GET /v1/credits`: what the user can spend now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct Credits {
    /// Credits that can be spent now: `allocation + grants` (held credits are not included).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub available: i64,
    /// Credits held by generations that have not ended yet.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub reserved: i64,
    /// What is left of this period's plan allocation (expires at `periodEndsAt`).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub allocation: i64,
    /// Granted credits left (they roll over).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub grants: i64,
    /// The plan's allocation per period.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub monthly_allocation: i64,
    /// When the current allocation period ends (RFC 3339).
    pub period_ends_at: String,
    pub plan: Tier,
}

/// The kinds of ledger movements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "lowercase")]
pub enum LedgerKind {
    /// A period's plan credits.
    Allocation,
    /// Credits held for a generation at submit.
    Reserve,
    /// Held credits spent on what a generation produced.
    Charge,
    /// Held credits given back (a failed or canceled job, or fewer outputs than estimated).
    Release,
    /// Spent credits given back.
    Refund,
    /// Credits given by an administrator or a promotion (they roll over).
    Grant,
    /// The unspent rest of a period's allocation, at the period's end.
    Expire,
}

impl LedgerKind {
    pub const ALL: [Self; 7] = [
        Self::Allocation,
        Self::Reserve,
        Self::Charge,
        Self::Release,
        Self::Refund,
        Self::Grant,
        Self::Expire,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allocation => "allocation",
            Self::Reserve => "reserve",
            Self::Charge => "charge",
            Self::Release => "release",
            Self::Refund => "refund",
            Self::Grant => "grant",
            Self::Expire => "expire",
        }
    }
}

impl std::str::FromStr for LedgerKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

/// One movement of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub kind: LedgerKind,
    /// Change of the spendable balance (negative: credits left it).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub amount: i64,
    /// Change of the held credits.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub held: i64,
    /// The spendable balance after this movement.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub balance_after: i64,
    /// Held credits after this movement.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub reserved_after: i64,
    pub reason: String,
    /// What caused it: `generation:<id>`, `invoice:<id>`, `period:<start>`, `admin:<id>`.
    pub cause: String,
    pub created_at: String,
}

/// `GET /v1/credits/estimate`: the price of a generation before it is submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct CreditEstimate {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub credits: i64,
    /// The caller's spendable balance now.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub available: i64,
    pub model: String,
}

/// `POST /v1/billing/checkout` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
pub struct CheckoutRequest {
    /// `pro` or `enterprise`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::patterns::schemas::paid_plan))]
    pub plan: Tier,
}

/// A page of Stripe's to open in the browser (Checkout or the customer portal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
pub struct BillingUrl {
    pub url: String,
}

/// The state of a user's subscription payments, as `/v1/me` shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "snake_case")]
pub enum BillingStatus {
    /// No subscription (the free plan).
    #[default]
    None,
    /// The last invoice was paid.
    Active,
    /// The last payment attempt failed (`invoice.payment_failed`).
    PaymentFailed,
    /// The subscription ended.
    Canceled,
}

impl BillingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Active => "active",
            Self::PaymentFailed => "payment_failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "active" => Self::Active,
            "payment_failed" => Self::PaymentFailed,
            "canceled" => Self::Canceled,
            _ => Self::None,
        }
    }
}
