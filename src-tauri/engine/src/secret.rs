//! Where the session token lives (D6). Tokens belong in the OS keyring; where there is none the
//! session is kept in memory only and the user is told so — never a plaintext token file.
//! [`SecretStore`] is the seam: [`KeyringStore`] (Secret Service on Linux, Keychain, Credential
//! Manager) when one is reachable, else [`MemorySecretStore`]; [`open_os_store`] picks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Key under which the sync server's bearer (access) token is kept.
pub const SESSION_TOKEN: &str = "session_token";
/// Key of the OAuth refresh token.
pub const REFRESH_TOKEN: &str = "refresh_token";
/// Key of the access token's expiry (Unix millis, as text).
pub const SESSION_EXPIRES_AT: &str = "session_expires_at_ms";
/// Keyring service name under which Iskra's secrets are filed.
pub const KEYRING_SERVICE: &str = "dev.iskra.desktop";
/// What the user is told when there is no keyring (also logged as a warning).
pub const NO_KEYRING_WARNING: &str =
    "No OS keyring available: you stay signed in until the app closes";

/// A store of secrets by name.
pub trait SecretStore: Send + Sync {
    /// The secret, if set.
    fn get(&self, key: &str) -> Option<String>;
    /// Sets or replaces a secret.
    fn set(&self, key: &str, value: &str);
    /// Forgets a secret.
    fn remove(&self, key: &str);
    /// True when secrets survive the process (a keyring); false for memory only.
    fn is_persistent(&self) -> bool;
}

/// Secrets held in this process's memory only; gone when it exits.
#[derive(Default)]
pub struct MemorySecretStore {
    secrets: Mutex<HashMap<String, String>>,
}

impl MemorySecretStore {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.secrets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SecretStore for MemorySecretStore {
    fn get(&self, key: &str) -> Option<String> {
        self.map().get(key).cloned()
    }

    fn set(&self, key: &str, value: &str) {
        self.map().insert(key.to_owned(), value.to_owned());
    }

    fn remove(&self, key: &str) {
        self.map().remove(key);
    }

    fn is_persistent(&self) -> bool {
        false
    }
}

impl std::fmt::Debug for MemorySecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets, only which keys are set.
        let mut keys: Vec<_> = self.map().keys().cloned().collect();
        keys.sort();
        f.debug_struct("MemorySecretStore")
            .field("keys", &keys)
            .finish()
    }
}

/// Secrets in the OS keyring under one service name, one entry per key.
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// A store under `service` if a keyring answers (a read that finds nothing counts as an
    /// answer); `None` when none is reachable (no D-Bus session, no Secret Service).
    pub fn probe(service: &str) -> Option<Self> {
        let store = Self {
            service: service.to_owned(),
        };
        match store.entry("probe").map(|e| e.get_password()) {
            Ok(Ok(_)) | Ok(Err(keyring::Error::NoEntry)) => Some(store),
            Ok(Err(e)) | Err(e) => {
                tracing::debug!(error = %e, "OS keyring not reachable");
                None
            }
        }
    }

    fn entry(&self, key: &str) -> keyring::Result<keyring::Entry> {
        keyring::Entry::new(&self.service, key)
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &str) -> Option<String> {
        match self.entry(key).and_then(|e| e.get_password()) {
            Ok(v) => Some(v),
            Err(keyring::Error::NoEntry) => None,
            Err(e) => {
                tracing::warn!(key, error = %e, "cannot read from the OS keyring");
                None
            }
        }
    }

    fn set(&self, key: &str, value: &str) {
        if let Err(e) = self.entry(key).and_then(|e| e.set_password(value)) {
            tracing::warn!(key, error = %e, "cannot write to the OS keyring");
        }
    }

    fn remove(&self, key: &str) {
        match self.entry(key).and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => {}
            Err(e) => tracing::warn!(key, error = %e, "cannot remove from the OS keyring"),
        }
    }

    fn is_persistent(&self) -> bool {
        true
    }
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringStore")
            .field("service", &self.service)
            .finish()
    }
}

/// The OS keyring under [`KEYRING_SERVICE`] when reachable; otherwise memory only, with the
/// [`NO_KEYRING_WARNING`] logged. `is_persistent()` on the result is the status flag to show.
pub fn open_os_store() -> Arc<dyn SecretStore> {
    match KeyringStore::probe(KEYRING_SERVICE) {
        Some(k) => Arc::new(k),
        None => {
            tracing::warn!("{NO_KEYRING_WARNING}");
            Arc::new(MemorySecretStore::default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_sets_removes_and_hides_values_in_debug() {
        let s = MemorySecretStore::default();
        assert!(!s.is_persistent());
        s.set(SESSION_TOKEN, "tok-123");
        assert_eq!(s.get(SESSION_TOKEN).as_deref(), Some("tok-123"));
        assert!(!format!("{s:?}").contains("tok-123"));
        s.remove(SESSION_TOKEN);
        assert_eq!(s.get(SESSION_TOKEN), None);
    }

    #[test]
    fn os_store_falls_back_to_memory_without_a_session_bus() {
        // In CI there is no D-Bus session: the fallback must be memory, never a file.
        let store = open_os_store();
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            assert!(!store.is_persistent());
        }
        store.set("iskra-test-key", "v");
        assert_eq!(store.get("iskra-test-key").as_deref(), Some("v"));
        store.remove("iskra-test-key");
        assert_eq!(store.get("iskra-test-key"), None);
    }
}
