//! Sign-in (D6): OAuth 2.0 authorization code + PKCE (S256) against the configured issuer
//! (Clerk: `{issuer}/oauth/authorize`, `{issuer}/oauth/token`) in the system browser, with a
//! loopback redirect on `127.0.0.1` and a random port (RFC 8252). The `state` is checked before
//! the code is exchanged; tokens (access, refresh, expiry) go to the [`SecretStore`] only.
//!
//! [`SignIn`] is the flow step by step (tests drive the authorize URL themselves);
//! [`sign_in`] runs it with a [`BrowserOpener`]. [`Session`] hands out an access token,
//! refreshing it first when it expires within [`REFRESH_MARGIN`].

mod loopback;

use crate::secret::{SecretStore, REFRESH_TOKEN, SESSION_EXPIRES_AT, SESSION_TOKEN};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenResponse, TokenUrl,
};
use std::sync::Arc;
use std::time::Duration;

/// A token expiring within this margin is refreshed before use.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// How long the loopback listener waits for the browser to come back.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);
/// Path of the loopback redirect.
pub const CALLBACK_PATH: &str = "/callback";

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Failures of signing in or refreshing.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The issuer or client id is missing or not a valid URL.
    #[error("sign-in is not configured: {0}")]
    Config(String),
    /// The redirect came back with another `state` (a forged or stale redirect).
    #[error("sign-in refused: the redirect's state does not match this sign-in")]
    StateMismatch,
    /// The issuer sent the browser back with an error (e.g. `access_denied`).
    #[error("the issuer refused the sign-in: {0}")]
    Denied(String),
    /// The issuer refused the code or refresh token (wrong verifier, expired, revoked).
    #[error("the issuer refused the token request: {0}")]
    Refused(String),
    /// The issuer or the loopback listener could not be reached or failed.
    #[error("network error during sign-in: {0}")]
    Network(String),
    /// Nobody came back to the loopback redirect in time.
    #[error("sign-in timed out waiting for the browser")]
    Timeout,
    /// There is no session (or no refresh token) to refresh.
    #[error("not signed in")]
    NotSignedIn,
}

impl AuthError {
    /// True when trying again later may succeed (network trouble).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Network(_))
    }
}

/// Where to sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// Issuer base URL, e.g. `https://clerk.example.com` (no trailing slash needed).
    pub issuer: String,
    pub client_id: String,
}

impl OAuthConfig {
    fn client(&self, redirect: Option<&str>) -> Result<Client, AuthError> {
        let issuer = self.issuer.trim_end_matches('/');
        let bad = |e: oauth2::url::ParseError| AuthError::Config(format!("issuer URL: {e}"));
        if self.client_id.trim().is_empty() {
            return Err(AuthError::Config("no client id".into()));
        }
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::new(format!("{issuer}/oauth/authorize")).map_err(bad)?)
            .set_token_uri(TokenUrl::new(format!("{issuer}/oauth/token")).map_err(bad)?);
        if let Some(r) = redirect {
            client = client.set_redirect_uri(RedirectUrl::new(r.to_owned()).map_err(bad)?);
        }
        Ok(client)
    }
}

/// Tokens of a session. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Unix millis when the access token expires, when the issuer said.
    pub expires_at_ms: Option<u64>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("expires_at_ms", &self.expires_at_ms)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    fn from_response(r: &impl TokenResponse, old_refresh: Option<String>) -> Self {
        Self {
            access_token: r.access_token().secret().clone(),
            refresh_token: r
                .refresh_token()
                .map(|t| t.secret().clone())
                .or(old_refresh),
            expires_at_ms: r
                .expires_in()
                .map(|d| crate::store::now_ms() + d.as_millis() as u64),
        }
    }

    /// True when the token expires within [`REFRESH_MARGIN`].
    pub fn expires_soon(&self) -> bool {
        self.expires_at_ms
            .is_some_and(|t| t <= crate::store::now_ms() + REFRESH_MARGIN.as_millis() as u64)
    }
}

/// Opens the authorize URL for the user (the system browser; tests follow it themselves).
pub trait BrowserOpener: Send + Sync {
    fn open(&self, url: &str);
}

/// HTTP client for the issuer: no redirects followed (OAuth 2.0 security BCP).
fn http() -> Result<reqwest::Client, AuthError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| AuthError::Network(e.to_string()))
}

fn token_error<E: std::error::Error>(
    e: oauth2::RequestTokenError<E, impl oauth2::ErrorResponse>,
) -> AuthError {
    match e {
        oauth2::RequestTokenError::ServerResponse(r) => AuthError::Refused(r.to_string()),
        oauth2::RequestTokenError::Request(e) => AuthError::Network(e.to_string()),
        other => AuthError::Refused(other.to_string()),
    }
}

/// A sign-in in progress: the loopback listener is bound and the authorize URL is ready.
pub struct SignIn {
    client: Client,
    verifier: PkceCodeVerifier,
    state: CsrfToken,
    url: String,
    listener: tokio::net::TcpListener,
}

impl SignIn {
    /// Binds `127.0.0.1:0` and prepares the authorize URL with a fresh PKCE pair and state.
    pub async fn start(cfg: &OAuthConfig) -> Result<Self, AuthError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| AuthError::Network(format!("cannot open the loopback redirect: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| AuthError::Network(e.to_string()))?
            .port();
        let redirect = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
        let client = cfg.client(Some(&redirect))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("openid".into()))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("offline_access".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Self {
            client,
            verifier,
            state,
            url: url.to_string(),
            listener,
        })
    }

    /// The URL to open in the browser.
    pub fn authorize_url(&self) -> &str {
        &self.url
    }

    /// Waits for the browser's redirect, checks `state`, and exchanges the code (with the
    /// PKCE verifier) for tokens.
    pub async fn finish(self) -> Result<Tokens, AuthError> {
        let wait = loopback::wait_for_redirect(&self.listener);
        let redirect = tokio::time::timeout(SIGN_IN_TIMEOUT, wait)
            .await
            .map_err(|_| AuthError::Timeout)??;
        if redirect.state.as_deref() != Some(self.state.secret().as_str()) {
            return Err(AuthError::StateMismatch);
        }
        if let Some(err) = redirect.error {
            return Err(AuthError::Denied(err));
        }
        let code = redirect
            .code
            .ok_or_else(|| AuthError::Denied("the redirect carried no code".into()))?;
        let http = http()?;
        let resp = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(self.verifier)
            .request_async(&http)
            .await
            .map_err(token_error)?;
        Ok(Tokens::from_response(&resp, None))
    }
}

/// The whole browser sign-in: start, open the URL, wait, exchange.
pub async fn sign_in(cfg: &OAuthConfig, opener: &dyn BrowserOpener) -> Result<Tokens, AuthError> {
    let flow = SignIn::start(cfg).await?;
    opener.open(flow.authorize_url());
    flow.finish().await
}

/// Exchanges a refresh token for new tokens (the old refresh token is kept when the issuer
/// does not rotate it).
pub async fn refresh(cfg: &OAuthConfig, refresh_token: &str) -> Result<Tokens, AuthError> {
    let resp = cfg
        .client(None)?
        .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
        .request_async(&http()?)
        .await
        .map_err(token_error)?;
    Ok(Tokens::from_response(&resp, Some(refresh_token.to_owned())))
}

/// The signed-in session: tokens in the [`SecretStore`], refreshed when about to expire.
pub struct Session {
    secrets: Arc<dyn SecretStore>,
    oauth: Option<OAuthConfig>,
    refreshing: tokio::sync::Mutex<()>,
}

impl Session {
    /// A session over `secrets`; `oauth` is needed only to refresh.
    pub fn new(secrets: Arc<dyn SecretStore>, oauth: Option<OAuthConfig>) -> Self {
        Self {
            secrets,
            oauth,
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Stores tokens (replacing the previous ones).
    pub fn save(&self, t: &Tokens) {
        self.secrets.set(SESSION_TOKEN, &t.access_token);
        match &t.refresh_token {
            Some(r) => self.secrets.set(REFRESH_TOKEN, r),
            None => self.secrets.remove(REFRESH_TOKEN),
        }
        match t.expires_at_ms {
            Some(e) => self.secrets.set(SESSION_EXPIRES_AT, &e.to_string()),
            None => self.secrets.remove(SESSION_EXPIRES_AT),
        }
    }

    /// The stored tokens, if signed in.
    pub fn tokens(&self) -> Option<Tokens> {
        Some(Tokens {
            access_token: self.secrets.get(SESSION_TOKEN)?,
            refresh_token: self.secrets.get(REFRESH_TOKEN),
            expires_at_ms: self
                .secrets
                .get(SESSION_EXPIRES_AT)
                .and_then(|s| s.parse().ok()),
        })
    }

    /// Forgets every token (sign out).
    pub fn clear(&self) {
        for k in [SESSION_TOKEN, REFRESH_TOKEN, SESSION_EXPIRES_AT] {
            self.secrets.remove(k);
        }
    }

    /// An access token valid for at least [`REFRESH_MARGIN`] when it can be had: refreshed
    /// first when it expires soon and a refresh token and issuer are known.
    pub async fn access_token(&self) -> Result<String, AuthError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let tokens = self.tokens().ok_or(AuthError::NotSignedIn)?;
        if !tokens.expires_soon() {
            return Ok(tokens.access_token);
        }
        let (Some(cfg), Some(rt)) = (&self.oauth, &tokens.refresh_token) else {
            return Ok(tokens.access_token);
        };
        let fresh = refresh(cfg, rt).await?;
        self.save(&fresh);
        tracing::info!("session refreshed");
        Ok(fresh.access_token)
    }
}
