//! Browser sign-in end to end (D6): the engine's OAuth 2.0 + PKCE flow against the fake issuer
//! (authorize → loopback redirect → code exchange with the verifier), a refresh, and a real
//! `iskra-server` in Clerk mode that accepts the issued token. Negative cases: a redirect with
//! the wrong `state` is refused by the engine; a wrong verifier is refused by the issuer.

use iskra_engine::auth::{self, AuthError, BrowserOpener, OAuthConfig, Session, SignIn};
use iskra_engine::secret::{MemorySecretStore, SecretStore};
use iskra_engine::sync::SyncClient;
use iskra_engine::Engine;
use iskra_tests::fake_issuer::{self, FakeIssuer, CLIENT_ID, FAKE_USER};
use std::sync::Arc;

/// Plays the browser: follows the authorize URL without redirects, then calls the loopback
/// redirect it was sent to — with the `state` replaced when `forge_state` is set.
struct TestBrowser {
    forge_state: Option<&'static str>,
}

impl BrowserOpener for TestBrowser {
    fn open(&self, url: &str) {
        let url = url.to_owned();
        let forge = self.forge_state;
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let resp = http.get(&url).send().await.unwrap();
            assert!(
                resp.status().is_redirection(),
                "authorize: {}",
                resp.status()
            );
            let mut to = reqwest::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
            if let Some(forged) = forge {
                let pairs: Vec<(String, String)> = to
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k == "state" {
                            forged.into()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                to.query_pairs_mut().clear().extend_pairs(pairs);
            }
            let page = http.get(to).send().await.unwrap();
            assert!(page.status().is_success());
        });
    }
}

fn config(issuer: &FakeIssuer) -> OAuthConfig {
    OAuthConfig {
        issuer: issuer.url.clone(),
        client_id: CLIENT_ID.into(),
    }
}

async fn clerk_server(issuer: &FakeIssuer, data: &std::path::Path) -> String {
    let config = iskra_server::Config {
        data_dir: data.to_path_buf(),
        auth_mode: iskra_server::config::AuthMode::Clerk,
        clerk_issuer: Some(issuer.url.clone()),
        clerk_jwks_url: Some(issuer.jwks_url()),
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        iskra_server::serve(config, listener, std::future::pending())
            .await
            .unwrap();
    });
    url
}

#[tokio::test]
async fn pkce_sign_in_refresh_and_server_accepts_token() {
    let issuer = FakeIssuer::start().await;
    let browser = TestBrowser { forge_state: None };
    let tokens = auth::sign_in(&config(&issuer), &browser).await.unwrap();
    assert!(tokens.refresh_token.is_some());
    assert!(tokens.expires_at_ms.is_some());
    assert!(!tokens.expires_soon());

    // Stored in the secret store only; refreshed when about to expire.
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::default());
    let session = Arc::new(Session::new(Arc::clone(&secrets), Some(config(&issuer))));
    session.save(&tokens);
    assert_eq!(session.access_token().await.unwrap(), tokens.access_token);
    assert_eq!(issuer.refreshes(), 0);
    let mut stale = tokens.clone();
    stale.expires_at_ms = Some(0);
    session.save(&stale);
    let fresh = session.access_token().await.unwrap();
    assert_eq!(issuer.refreshes(), 1);
    let stored = session.tokens().unwrap();
    assert_eq!(stored.access_token, fresh);
    assert_ne!(stored.refresh_token, tokens.refresh_token, "rotated");
    assert!(!stored.expires_soon());

    // The used refresh token is refused now.
    let err = auth::refresh(&config(&issuer), tokens.refresh_token.as_deref().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Refused(_)), "{err}");

    // A real server in Clerk mode accepts the token; the sync client refreshes transparently.
    let data = tempfile::tempdir().unwrap();
    let server = clerk_server(&issuer, data.path()).await;
    let mut stale = session.tokens().unwrap();
    stale.expires_at_ms = Some(0);
    session.save(&stale);
    let dev = tempfile::tempdir().unwrap();
    let engine = Engine::open(dev.path()).unwrap();
    engine.create_project(Some("Signed in")).unwrap();
    let client = SyncClient::with_session(engine, &server, Arc::clone(&session)).unwrap();
    let report = client.sync_once().await.unwrap();
    assert_eq!(issuer.refreshes(), 2, "refreshed before the pass");
    assert!(report.sent >= 1);
    let me = client.api().me().await.unwrap();
    assert_eq!(me.id, FAKE_USER);
}

#[tokio::test]
async fn redirect_with_wrong_state_is_refused() {
    let issuer = FakeIssuer::start().await;
    let browser = TestBrowser {
        forge_state: Some("forged"),
    };
    let err = auth::sign_in(&config(&issuer), &browser).await.unwrap_err();
    assert!(matches!(err, AuthError::StateMismatch), "{err}");
}

#[tokio::test]
async fn issuer_refuses_wrong_verifier() {
    let issuer = FakeIssuer::start().await;
    let flow = SignIn::start(&config(&issuer)).await.unwrap();
    let url = reqwest::Url::parse(flow.authorize_url()).unwrap();
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let redirect = param("redirect_uri");
    assert!(redirect.starts_with("http://127.0.0.1:"));
    assert_eq!(param("code_challenge_method"), "S256");
    let code =
        fake_issuer::authorize_by_hand(&issuer.url, &redirect, &param("code_challenge")).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/token", issuer.url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", &"x".repeat(64)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}
