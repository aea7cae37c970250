//! Credits and billing commands (S8), forwarded to the engine, which owns the domain (the
//! balance it keeps for offline display, estimates, the billing pages). The shapes, in
//! camelCase JSON:
//!
//! - `get_credits {}` → `Credits | null`: the balance the engine keeps (fetched first when
//!   signed in and nothing is kept yet); null signed out or never fetched.
//! - `estimate_generation { request: { kind, model: string|null, numImages: number|null,
//!   imageSize: string|null, durationS: number|null } }` → `CreditEstimate { credits,
//!   available, model }`: the price before a click.
//! - `open_checkout { plan: "pro"|"enterprise" }` → `string`: the server's Stripe Checkout page,
//!   opened in the system browser.
//! - `open_billing_portal {}` → `string`: the Stripe customer portal, opened likewise.
//! - event `credits-changed` → `Credits | null` (`crate::events`).
//!
//! Errors are the usual `{kind, message}`: `unavailable` when the server has no billing
//! (`503 BILLING_UNAVAILABLE`), `conflict` for the portal of an account that never subscribed,
//! `invalidInput` for a plan Checkout does not sell or a form the server cannot price, `auth`
//! signed out, `network` when the server cannot be reached.

use super::{blocking, Shared};
use crate::error::{CmdResult, CommandError};
use iskra_engine::credits::EstimateRequest;
use iskra_protocol::{CreditEstimate, Credits, Tier};
use std::time::Duration;
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

/// How long `get_credits` waits for the server when nothing is kept yet.
const CREDITS_TIMEOUT: Duration = Duration::from_secs(5);

fn require_session(signed_in: bool) -> CmdResult<()> {
    if signed_in {
        Ok(())
    } else {
        Err(CommandError::Auth(
            "Sign in to see credits and plans: they belong to your Iskra account".into(),
        ))
    }
}

/// Opens a billing page in the system browser; the page's address either way.
fn open_in_browser(app: &AppHandle, url: String) -> CmdResult<String> {
    app.opener()
        .open_url(&url, None::<&str>)
        .map_err(|e| CommandError::Io(format!("Could not open the browser ({e}): go to {url}")))?;
    Ok(url)
}

#[tauri::command]
pub async fn get_credits(state: State<'_, Shared>) -> CmdResult<Option<Credits>> {
    if !state.signed_in() {
        return Ok(None);
    }
    let cached = blocking(&state, |s| Ok(s.engine.cached_credits()?)).await?;
    if cached.is_some() {
        return Ok(cached);
    }
    let client = state.sync_client()?;
    match tokio::time::timeout(CREDITS_TIMEOUT, client.credits()).await {
        Ok(Ok(credits)) => Ok(credits),
        Ok(Err(e)) => {
            tracing::info!(error = %e, "credit balance not fetched");
            Ok(None)
        }
        Err(_) => Ok(None),
    }
}

#[tauri::command]
pub async fn estimate_generation(
    state: State<'_, Shared>,
    request: EstimateRequest,
) -> CmdResult<CreditEstimate> {
    require_session(state.signed_in())?;
    state
        .sync_client()?
        .estimate(&request)
        .await
        // The form names what the server does not price (an unknown model or size).
        .map_err(CommandError::rejected_input)
}

#[tauri::command]
pub async fn open_checkout(
    app: AppHandle,
    state: State<'_, Shared>,
    plan: Tier,
) -> CmdResult<String> {
    require_session(state.signed_in())?;
    let url = state.sync_client()?.checkout_url(plan).await?;
    open_in_browser(&app, url)
}

#[tauri::command]
pub async fn open_billing_portal(app: AppHandle, state: State<'_, Shared>) -> CmdResult<String> {
    require_session(state.signed_in())?;
    let url = state.sync_client()?.billing_portal_url().await?;
    open_in_browser(&app, url)
}
