//! The server side of credits and billing (S8): the balance — fetched and kept for offline
//! display when sync starts (sign-in, app start), when a generation ends and on
//! `credits.updated` — the ledger's history, price estimates, and the Stripe pages (Checkout,
//! the customer portal) the app opens in the browser. Also the account (`GET /v1/me`), fetched
//! again when the server's news says the plan changed.
//!
//! Background refreshes are best effort: a failure is logged and the cached balance stays; only
//! a failing local store stops sync.

use super::{SyncClient, SyncError};
use crate::credits::{AccountSummary, BillingError, EstimateRequest};
use iskra_protocol::{CreditEstimate, Credits, LedgerEntry, Page, Tier};

/// Schemes a billing page may have before it is handed to the system browser.
const BROWSER_SCHEMES: [&str; 2] = ["https://", "http://"];

impl SyncClient {
    /// Fetches the balance and keeps it.
    pub async fn refresh_credits(&self) -> Result<Credits, SyncError> {
        let credits = self.api.credits().await?;
        let keep = credits.clone();
        self.on_engine(move |e| e.set_credits(&keep)).await?;
        Ok(credits)
    }

    /// The balance: fresh from the server, else (unreachable, failing) the cached one.
    pub async fn credits(&self) -> Result<Option<Credits>, SyncError> {
        self.refresh_session().await?;
        match self.refresh_credits().await {
            Ok(c) => Ok(Some(c)),
            Err(e) if e.is_retryable() => {
                let cached = self.on_engine(|e| e.cached_credits()).await?;
                cached.map(Some).ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Refreshes the balance in the background; a failure leaves the cached one.
    pub(super) async fn refresh_credits_quietly(&self) -> Result<(), SyncError> {
        match self.refresh_credits().await {
            Ok(_) => Ok(()),
            Err(e @ SyncError::Local(_)) => Err(e),
            Err(e) => {
                tracing::info!(error = %e, "credit balance not refreshed; keeping the cached one");
                Ok(())
            }
        }
    }

    /// A `credits.updated` event: keeps the balance; a plan other than the account's known
    /// tier means the subscription changed — the account is fetched again.
    pub(super) async fn credits_announced(&self, credits: Credits) -> Result<(), SyncError> {
        let plan = credits.plan;
        self.on_engine(move |e| e.set_credits(&credits)).await?;
        self.plan_announced(plan, false).await
    }

    /// The server named the account's plan (`quota.updated`, `credits.updated`): when it is
    /// not the tier this device knows, the account (and with `balance`, the balance) is fetched
    /// again.
    pub(super) async fn plan_announced(&self, plan: Tier, balance: bool) -> Result<(), SyncError> {
        let known = self.on_engine(|e| e.account_summary()).await?;
        if known.is_some_and(|a| a.tier == plan) {
            return Ok(());
        }
        if let Err(e) = self.refresh_account().await {
            if matches!(e, SyncError::Local(_)) {
                return Err(e);
            }
            tracing::info!(error = %e, "account not refreshed after a plan change");
        }
        if balance {
            self.refresh_credits_quietly().await?;
        }
        Ok(())
    }

    /// `GET /v1/me`: who the session belongs to, their tier and billing status; kept.
    pub async fn refresh_account(&self) -> Result<AccountSummary, SyncError> {
        let me = self.api.me().await?;
        self.on_engine(move |e| e.remember_account(&me)).await
    }

    /// One page of the ledger, newest first (`cursor` from the previous page).
    pub async fn credit_history(
        &self,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<LedgerEntry>, SyncError> {
        self.refresh_session().await?;
        self.api.credit_history(cursor, limit).await
    }

    /// The price of a generation as the form stands, with the balance now.
    pub async fn estimate(&self, req: &EstimateRequest) -> Result<CreditEstimate, SyncError> {
        self.refresh_session().await?;
        self.api.estimate(req).await
    }

    /// The Stripe Checkout page that subscribes the account to `plan` (pro or enterprise).
    pub async fn checkout_url(&self, plan: Tier) -> Result<String, BillingError> {
        if plan == Tier::Free {
            return Err(BillingError::Plan(
                "Choose the pro or enterprise plan: the free plan needs no checkout".into(),
            ));
        }
        self.refresh_session().await?;
        let page = self
            .api
            .checkout(plan)
            .await
            .map_err(BillingError::from_sync)?;
        browser_url(page.url)
    }

    /// The Stripe customer portal of the account (change plan, card, invoices, cancel).
    pub async fn billing_portal_url(&self) -> Result<String, BillingError> {
        self.refresh_session().await?;
        let page = self
            .api
            .billing_portal()
            .await
            .map_err(BillingError::from_sync)?;
        browser_url(page.url)
    }
}

/// A page the server gave, checked to be a web address before a browser opens it.
fn browser_url(url: String) -> Result<String, BillingError> {
    let lower = url.to_ascii_lowercase();
    if BROWSER_SCHEMES.iter().any(|s| lower.starts_with(s)) && url.len() > 8 {
        Ok(url)
    } else {
        Err(BillingError::Sync(SyncError::Protocol(format!(
            "the server's billing page is not a web address: {url:?}"
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_go_to_the_browser() {
        assert!(browser_url("https://checkout.stripe.com/c/pay/cs_1".into()).is_ok());
        assert!(browser_url("http://127.0.0.1:9/session".into()).is_ok());
        for bad in ["file:///etc/passwd", "javascript:alert(1)", "", "https://"] {
            assert!(browser_url(bad.into()).is_err(), "{bad}");
        }
    }
}
