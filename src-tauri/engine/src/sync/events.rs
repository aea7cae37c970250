//! Live updates: follows `GET /v1/events` (server-sent events) and wakes the sync loop when the
//! server announces a change; `generation.updated` goes straight into the generation's record
//! (and one that ended brings the credit balance up to date), `credits.updated` into the cached
//! balance, `quota.updated` into the kept quota the storage bar shows offline,
//! and a `quota.updated` or `credits.updated` naming another plan than the account's
//! fetches the account again. Reconnects with backoff (at most `MAX_RECONNECT_DELAY` apart) after
//! any break, resuming with `Last-Event-ID` (persisted, so a restart resumes too); a reconnect
//! makes the operations that waited for the server due at once. A refused session ends it.

use super::backoff::reconnect_delay;
use super::{SyncClient, SyncError};
use crate::generation::GenerationState;
use crate::store::settings;
use eventsource_stream::{Event, Eventsource};
use futures::StreamExt;
use iskra_protocol::events::ServerEvent;
use reqwest::{header, Method};
use std::sync::Arc;
use tokio::sync::Notify;

/// Follows the event stream until the session is refused or the store fails.
pub(super) async fn follow(client: &SyncClient, wake: Arc<Notify>) -> Result<(), SyncError> {
    let mut failures = 0u32;
    loop {
        let last_id = client
            .on_engine(|e| e.setting(settings::LAST_EVENT_ID))
            .await?;
        let mut req = client
            .api
            .request(Method::GET, "/v1/events")
            .header(header::ACCEPT, "text/event-stream");
        if let Some(id) = &last_id {
            req = req.header("Last-Event-ID", id);
        }
        match client.api.send(req).await {
            Ok(resp) => {
                failures = 0;
                client.set_online(true).await?;
                // Catch up on whatever happened while disconnected, and send at once what
                // waited only because the server could not be reached.
                client.on_engine(|e| e.ops_due_on_reconnect()).await?;
                wake.notify_one();
                let mut stream = resp.bytes_stream().eventsource();
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(event) => handle(client, &event, &wake).await?,
                        Err(e) => {
                            tracing::info!(error = %e, "event stream broke; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(e) if e.stops_sync() => return Err(e),
            Err(e) => {
                tracing::info!(error = %e, "cannot open the event stream");
                if e.is_offline() {
                    client.set_online(false).await?;
                }
            }
        }
        tokio::time::sleep(reconnect_delay(failures)).await;
        failures = failures.saturating_add(1);
    }
}

async fn handle(client: &SyncClient, event: &Event, wake: &Notify) -> Result<(), SyncError> {
    if !event.id.is_empty() {
        let id = event.id.clone();
        client
            .on_engine(move |e| e.set_setting(settings::LAST_EVENT_ID, &id))
            .await?;
    }
    match ServerEvent::parse(&event.event, &event.data) {
        Some(ServerEvent::QuotaUpdated { quota }) => {
            // What the storage bar shows offline (`Engine::cached_quota`).
            let kept = quota.clone();
            client.on_engine(move |e| e.cache_quota(&kept)).await?;
            if !quota.storage.over_limit {
                client
                    .on_engine(|e| e.remove_setting(settings::UPLOADS_PAUSED_UNTIL))
                    .await?;
                wake.notify_one();
            }
            client.plan_announced(quota.tier, true).await?;
        }
        Some(ServerEvent::GenerationUpdated { generation }) => {
            let ended = GenerationState::from(generation.status).is_terminal();
            client
                .on_engine(move |e| e.apply_server_generation(&generation))
                .await?;
            if ended {
                client.refresh_credits_quietly().await?;
            }
        }
        Some(ServerEvent::CreditsUpdated { credits }) => {
            client.credits_announced(credits).await?;
        }
        Some(_) => wake.notify_one(),
        None => tracing::debug!(event = %event.event, "ignoring unknown server event"),
    }
    Ok(())
}
