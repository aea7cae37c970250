//! API keys (S9, docs/api.md "API keys and the images API") as the app and the CLI manage them:
//! making a key (its secret is in the answer and nowhere else — the engine neither keeps nor
//! logs it), the account's keys with today's use, revoking one, and the use per key and day.
//!
//! Keys are managed with the session's bearer token only; a name or scope the server would
//! refuse is refused here first with the protocol's own rule ([`NewApiKey::validate`]).

use super::api::ApiClient;
use super::{SyncClient, SyncError};
use iskra_protocol::{ApiKeyInfo, ApiKeyList, NewApiKey, NewApiKeyCreated, UsageReport};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a key could not be made, revoked or reported on.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// The account already has the most active keys allowed (409).
    #[error("{0}")]
    TooMany(String),
    /// A name, scope or day range the server does not take (400, 422).
    #[error("{0}")]
    Invalid(String),
    /// The key does not exist, was revoked already, or is another account's (404).
    #[error("This API key no longer exists: it may have been revoked on another device")]
    NotFound,
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl ApiKeyError {
    /// Classifies a failed key call by its status.
    fn from_sync(e: SyncError) -> Self {
        match e {
            SyncError::Rejected { status: 409, error } => Self::TooMany(error.message),
            SyncError::Rejected {
                status: 400 | 422,
                error,
            } => Self::Invalid(error.message),
            SyncError::Rejected { status: 404, .. } => Self::NotFound,
            other => Self::Sync(other),
        }
    }
}

/// `GET /v1/images/usage` arguments; every one optional (the server's default: the 30 days to
/// today, every key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UsageQuery {
    /// First day, `YYYY-MM-DD` (UTC).
    pub from: Option<String>,
    /// Last day, inclusive.
    pub to: Option<String>,
    /// One key of the account (revoked ones too).
    pub key_id: Option<Uuid>,
}

impl UsageQuery {
    /// The query string of the request.
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(from) = &self.from {
            p.push(("from", from.clone()));
        }
        if let Some(to) = &self.to {
            p.push(("to", to.clone()));
        }
        if let Some(id) = self.key_id {
            p.push(("keyId", id.to_string()));
        }
        p
    }
}

impl ApiClient {
    /// `POST /v1/api-keys` (201): the key, shown this once.
    pub async fn create_api_key(&self, req: &NewApiKey) -> Result<NewApiKeyCreated, SyncError> {
        self.json(self.request(Method::POST, "/v1/api-keys").json(req))
            .await
    }

    /// `GET /v1/api-keys`: the active keys, oldest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKeyInfo>, SyncError> {
        let list: ApiKeyList = self.json(self.request(Method::GET, "/v1/api-keys")).await?;
        Ok(list.items)
    }

    /// `DELETE /v1/api-keys/{id}` (204).
    pub async fn revoke_api_key(&self, id: Uuid) -> Result<(), SyncError> {
        let req = self.request(Method::DELETE, &format!("/v1/api-keys/{id}"));
        self.send(req.timeout(super::api::REQUEST_TIMEOUT))
            .await
            .map(|_| ())
    }

    /// `GET /v1/images/usage`: use by day and key.
    pub async fn api_key_usage(&self, query: &UsageQuery) -> Result<UsageReport, SyncError> {
        let req = self
            .request(Method::GET, "/v1/images/usage")
            .query(&query.params());
        self.json(req).await
    }
}

impl SyncClient {
    /// Makes a key named `name` with `scopes` (both when `None`). The answer holds the key
    /// itself: the caller shows it once and drops it.
    pub async fn create_api_key(
        &self,
        name: &str,
        scopes: Option<Vec<String>>,
    ) -> Result<NewApiKeyCreated, ApiKeyError> {
        let req = NewApiKey {
            name: name.trim().to_owned(),
            scopes,
        };
        req.validate()
            .map_err(|(field, msg)| ApiKeyError::Invalid(format!("{field}: {msg}")))?;
        self.refresh_session().await?;
        self.api
            .create_api_key(&req)
            .await
            .map_err(ApiKeyError::from_sync)
    }

    /// The account's active keys with today's use, oldest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKeyInfo>, ApiKeyError> {
        self.refresh_session().await?;
        self.api.api_keys().await.map_err(ApiKeyError::from_sync)
    }

    /// Revokes a key: the server refuses it from the next request on.
    pub async fn revoke_api_key(&self, id: Uuid) -> Result<(), ApiKeyError> {
        self.refresh_session().await?;
        self.api
            .revoke_api_key(id)
            .await
            .map_err(ApiKeyError::from_sync)
    }

    /// Use of the account's keys by day and key.
    pub async fn api_key_usage(&self, query: &UsageQuery) -> Result<UsageReport, ApiKeyError> {
        self.refresh_session().await?;
        self.api
            .api_key_usage(query)
            .await
            .map_err(ApiKeyError::from_sync)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iskra_protocol::{ErrorCode, ErrorDetail};

    #[test]
    fn usage_query_sends_only_what_it_names() {
        assert!(UsageQuery::default().params().is_empty());
        let id = Uuid::nil();
        let q: UsageQuery = serde_json::from_value(serde_json::json!({
            "from": "2026-11-01", "to": "2026-11-30", "keyId": id
        }))
        .unwrap();
        assert_eq!(
            q.params(),
            vec![
                ("from", "2026-11-01".into()),
                ("to", "2026-11-30".into()),
                ("keyId", id.to_string())
            ]
        );
    }

    #[test]
    fn refusals_are_classified_by_status() {
        let detail = |code, message: &str| ErrorDetail::new(code, message);
        let too_many = ApiKeyError::from_sync(SyncError::Rejected {
            status: 409,
            error: detail(ErrorCode::Conflict, "you have 20 API keys"),
        });
        assert!(matches!(too_many, ApiKeyError::TooMany(m) if m == "you have 20 API keys"));
        let bad = ApiKeyError::from_sync(SyncError::Rejected {
            status: 422,
            error: detail(
                ErrorCode::ValidationFailed,
                "name: must be 1 to 100 characters",
            ),
        });
        assert_eq!(bad.to_string(), "name: must be 1 to 100 characters");
        let gone = ApiKeyError::from_sync(SyncError::Rejected {
            status: 404,
            error: detail(ErrorCode::NotFound, "API key not found"),
        });
        assert!(matches!(gone, ApiKeyError::NotFound));
        let offline = ApiKeyError::from_sync(SyncError::Network("refused".into()));
        assert!(matches!(offline, ApiKeyError::Sync(SyncError::Network(_))));
    }
}
