//! A local fake of Stripe for tests of billing: the two API endpoints an integration calls to
//! send a customer to Stripe, and a webhook sender that signs events the way Stripe does.
//!
//! `FakeStripe::start` binds a loopback port and serves, on one origin ([`FakeStripe::api_url`],
//! what `stripe_api_url` points at):
//! - `POST /v1/checkout/sessions` and `POST /v1/billing_portal/sessions`: form-encoded, bearer
//!   secret key, `Idempotency-Key` honoured (same key and parameters → the same session); every
//!   request is recorded ([`FakeStripe::requests`]) and failures can be injected
//!   ([`FakeStripe::fail_next`]);
//! - `/pay/{session}` and `/portal/{session}`: pages that complete a checkout or cancel the
//!   subscriptions, sending the resulting events to the webhook endpoint (for local runs).
//!
//! Events are built from the specs in [`objects`] in Stripe's shapes and posted with a real
//! `Stripe-Signature` by a [`Sender`], which can also spoil the delivery on purpose ([`Tamper`]).

mod api;
pub mod objects;
mod pages;
mod state;
mod webhook;

pub use objects::{CheckoutSpec, Event, InvoiceSpec, LineSpec, SubscriptionSpec};
pub use pages::Completion;
pub use state::{ApiRequest, Session};
pub use webhook::{
    signature, signature_header, Delivery, Sender, Tamper, SIGNATURE_HEADER, STALE_BY_SECS,
};

use axum::routing::{get, post};
use axum::Router;
use state::{lock, Shared};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// How to start the fake.
#[derive(Clone, Debug)]
pub struct FakeStripeConfig {
    /// `127.0.0.1:0` by default.
    pub listen: SocketAddr,
    /// The secret key it accepts (`sk_test_…`, random by default).
    pub secret_key: Option<String>,
    /// The webhook endpoint secret it signs with (`whsec_…`, random by default).
    pub webhook_secret: Option<String>,
    /// Where the pay and portal pages send their events.
    pub webhook_url: Option<String>,
}

impl Default for FakeStripeConfig {
    fn default() -> Self {
        FakeStripeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            secret_key: None,
            webhook_secret: None,
            webhook_url: None,
        }
    }
}

/// Aborts the server task when the last handle goes.
struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running fake; clones share it. The server stops when the last clone is dropped.
#[derive(Clone)]
pub struct FakeStripe {
    shared: Arc<Shared>,
    _task: Arc<ServerTask>,
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

impl FakeStripe {
    /// Starts on `config.listen` (on the current tokio runtime). Panics if it cannot bind.
    pub async fn start(config: FakeStripeConfig) -> FakeStripe {
        Self::try_start(config).await.expect("fake Stripe: bind")
    }

    /// Starts on `config.listen`, or the bind error.
    pub async fn try_start(config: FakeStripeConfig) -> std::io::Result<FakeStripe> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            base,
            secret_key: config
                .secret_key
                .unwrap_or_else(|| format!("sk_test_{}", random_hex(24))),
            webhook_secret: config
                .webhook_secret
                .unwrap_or_else(|| format!("whsec_{}", random_hex(24))),
            webhook_url: Mutex::new(config.webhook_url),
            http,
            requests: Mutex::default(),
            replies: Mutex::default(),
            sessions: Mutex::default(),
            portals: Mutex::default(),
            subscriptions: Mutex::default(),
            failures: Mutex::default(),
        });
        let app = Router::new()
            .route("/v1/checkout/sessions", post(api::checkout))
            .route("/v1/billing_portal/sessions", post(api::portal))
            .route("/v1/{*rest}", get(api::unknown).post(api::unknown))
            .route("/pay/{id}", get(pages::pay_page).post(pages::pay))
            .route("/portal/{id}", get(pages::portal_page))
            .route("/portal/{id}/cancel", post(pages::portal_cancel))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeStripe {
            shared,
            _task: Arc::new(ServerTask(task)),
        })
    }

    /// `http://127.0.0.1:PORT`: Stripe's `https://api.stripe.com`.
    pub fn api_url(&self) -> String {
        self.shared.base.clone()
    }

    /// The secret key it accepts as `Authorization: Bearer …`.
    pub fn secret_key(&self) -> String {
        self.shared.secret_key.clone()
    }

    /// The webhook endpoint secret its events are signed with.
    pub fn webhook_secret(&self) -> String {
        self.shared.webhook_secret.clone()
    }

    /// Sets where the pay and portal pages deliver their events.
    pub fn set_webhook_url(&self, url: &str) {
        *lock(&self.shared.webhook_url) = Some(url.to_owned());
    }

    /// A sender of events signed with this fake's webhook secret, to `url`.
    pub fn sender(&self, url: &str) -> Sender {
        Sender {
            http: self.shared.http.clone(),
            url: url.to_owned(),
            secret: self.shared.webhook_secret.clone(),
        }
    }

    /// Every API request so far, oldest first.
    pub fn requests(&self) -> Vec<ApiRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The next API requests answer these statuses, one each (Stripe's `api_error` body).
    pub fn fail_next(&self, statuses: &[u16]) {
        lock(&self.shared.failures).extend(statuses.iter().copied());
    }

    /// A Checkout Session it created.
    pub fn session(&self, id: &str) -> Option<Session> {
        lock(&self.shared.sessions).get(id).cloned()
    }

    /// Pays session `id` (as its page's button does) without sending anything: the customer,
    /// subscription, first invoice and the events Stripe would send, for the test to deliver.
    pub fn complete_checkout(&self, id: &str) -> Option<Completion> {
        pages::complete(&self.shared, id)
    }
}
