//! Where the session token lives (D6). Tokens belong in the OS keyring; where there is none the
//! session is kept in memory only and the user is told so — never a plaintext token file.
//! [`SecretStore`] is the seam: [`MemorySecretStore`] now, a keyring implementation later.

use std::collections::HashMap;
use std::sync::Mutex;

/// Key under which the sync server's bearer token is kept.
pub const SESSION_TOKEN: &str = "session_token";

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
        f.debug_struct("MemorySecretStore").field("keys", &keys).finish()
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
}
