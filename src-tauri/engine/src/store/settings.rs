//! Device settings: a small key/value table (HLC node id, sync client id, server URL, the last
//! clock issued, sync status that the CLI shows across runs). Never holds a token (D6).

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension};

/// HLC node id of this device (random, generated once).
pub const NODE_ID: &str = "node_id";
/// `clientId` sent with every sync (a UUID, generated once).
pub const CLIENT_ID: &str = "client_id";
/// The last HLC issued or observed, so a clock set back cannot reorder this device's edits.
pub const HLC_LAST: &str = "hlc_last";
/// Server base URL last used.
pub const SERVER_URL: &str = "server_url";
/// RFC 3339 time of the last successful sync.
pub const LAST_SYNC_AT: &str = "sync.last_at";
/// Message of the last sync error (absent after a success).
pub const LAST_SYNC_ERROR: &str = "sync.last_error";
/// `"true"`/`"false"`: whether the server answered the last attempt to reach it.
pub const ONLINE: &str = "sync.online";
/// Unix millis until which asset uploads are paused (storage quota exceeded).
pub const UPLOADS_PAUSED_UNTIL: &str = "sync.uploads_paused_until_ms";
/// Why uploads are paused (the server's message).
pub const UPLOADS_PAUSED_REASON: &str = "sync.uploads_paused_reason";
/// JSON array of the folders watched for new media (D8).
pub const HOT_FOLDERS: &str = "hot_folders";
/// OAuth issuer base URL of the last browser sign-in (not a secret).
pub const OAUTH_ISSUER: &str = "oauth.issuer";
/// OAuth client id of the last browser sign-in (not a secret).
pub const OAUTH_CLIENT_ID: &str = "oauth.client_id";
/// Set (to the time) once the user answered the offer to add the projects made while signed
/// out to the account — either way (D6).
pub const LOCAL_OFFER_ANSWERED: &str = "account.local_imported";

/// The generation model catalogue last fetched from `GET /v1/models` (JSON `ModelInfo[]`),
/// so the model picker works offline (D7).
pub const MODELS: &str = "generation.models";

/// The server's last `GET /v1/quota` answer (JSON `Quota`), shown offline.
pub const QUOTA: &str = "account.quota";

/// Id of the last server-sent event seen, for `Last-Event-ID` on reconnect.
pub const LAST_EVENT_ID: &str = "sync.last_event_id";

/// The signed-in user's email (else id) as `GET /v1/me` last said, for the profile menu.
pub const ACCOUNT_EMAIL: &str = "desktop.account.email";
/// The signed-in user's tier (`free`, `pro`, `enterprise`).
pub const ACCOUNT_TIER: &str = "desktop.account.tier";
/// The state of the account's subscription payments (`none`, `active`, `payment_failed`,
/// `canceled`).
pub const ACCOUNT_BILLING: &str = "desktop.account.billing_status";
/// The credit balance last reported by the server (JSON `Credits`), shown offline (S8).
pub const CREDITS: &str = "account.credits";
/// The free generation before sign-in still waited for (`PendingFreeGeneration` as JSON).
pub const FREE_GENERATION: &str = "generation.free_pending";

/// Reads a setting.
pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Writes a setting.
pub fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute((key, value))?;
    Ok(())
}

/// Removes a setting.
pub fn remove(conn: &Connection, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM settings WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}

/// Reads a setting, creating it with `make()` the first time.
pub fn get_or_init(conn: &Connection, key: &str, make: impl FnOnce() -> String) -> Result<String> {
    if let Some(v) = get(conn, key)? {
        return Ok(v);
    }
    let v = make();
    conn.prepare_cached("INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)")?
        .execute((key, &v))?;
    // Another connection may have won the race; the stored value rules.
    Ok(get(conn, key)?.unwrap_or(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_remove_and_init_once() {
        let conn = crate::store::open_in_memory().unwrap();
        assert_eq!(get(&conn, "k").unwrap(), None);
        set(&conn, "k", "1").unwrap();
        set(&conn, "k", "2").unwrap();
        assert_eq!(get(&conn, "k").unwrap().as_deref(), Some("2"));
        remove(&conn, "k").unwrap();
        assert_eq!(get(&conn, "k").unwrap(), None);
        let a = get_or_init(&conn, NODE_ID, || "a".into()).unwrap();
        let b = get_or_init(&conn, NODE_ID, || "b".into()).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("a", "a"));
    }
}
