//! Shared set-up of the billing tests: a server wired to a fake Stripe, a webhook sender bound
//! to the server's endpoint, and what the tests count (ledger rows, recorded events).

use crate::common::{Backend, TestServer, User};
use iskra_fake_stripe::{Event, FakeStripe, FakeStripeConfig, Sender, SubscriptionSpec};
use iskra_server::Config;
use serde_json::Value;
use std::time::Duration;

/// The Stripe prices configured as the two paid plans.
pub const PRO: &str = "price_pro_monthly";
pub const ENTERPRISE: &str = "price_enterprise_monthly";

/// A server wired to a fake Stripe.
pub struct Billing {
    pub srv: TestServer,
    pub stripe: FakeStripe,
    /// Signs with the webhook secret the server is configured with.
    pub hooks: Sender,
}

/// Points `cfg` at `stripe`, with both plans priced.
pub fn wire(cfg: &mut Config, stripe: &FakeStripe) {
    cfg.stripe_secret_key = Some(stripe.secret_key());
    cfg.stripe_api_url = stripe.api_url();
    cfg.stripe_webhook_secret = Some(stripe.webhook_secret());
    cfg.stripe_price_pro = Some(PRO.into());
    cfg.stripe_price_enterprise = Some(ENTERPRISE.into());
    cfg.billing_return_url = "iskra://billing".into();
}

impl Billing {
    /// A server on `b` wired to a new fake Stripe; `tweak` adjusts the configuration after.
    pub async fn start(b: Backend, tweak: impl FnOnce(&mut Config)) -> Billing {
        let stripe = FakeStripe::start(FakeStripeConfig::default()).await;
        let wired = stripe.clone();
        let srv = TestServer::start(b, move |cfg| {
            wire(cfg, &wired);
            tweak(cfg);
        })
        .await;
        let hooks = stripe.sender(&srv.url("/v1/webhooks/stripe"));
        Billing { srv, stripe, hooks }
    }

    /// A user that has made its first request (so the row exists), with an email.
    pub async fn user(&self, id: &str) -> User {
        let dev = self.srv.state.dev.as_ref().expect("dev auth mode");
        let email = format!("{id}@example.test");
        let token = dev.mint(id, Some(&email), Duration::from_secs(3600));
        let user = User::new(self.srv.http.clone(), &self.srv.base, id, Some(token));
        user.get("/v1/me").await.expect(200);
        user
    }

    /// Delivers `event` correctly signed; it must be answered 200.
    pub async fn deliver(&self, event: &Event) {
        let d = self.hooks.deliver(event).await;
        assert_eq!(
            d.status,
            Some(200),
            "{} {} answered: {}",
            event.kind,
            event.id,
            d.body
        );
    }

    /// `GET /v1/me` of `user`.
    pub async fn me(&self, user: &User) -> Value {
        user.get("/v1/me").await.expect(200).clone()
    }

    /// The user's tier as `/v1/me` and `/v1/quota` show it (they must agree).
    pub async fn tier(&self, user: &User) -> String {
        let me = self.me(user).await;
        let quota = user.get("/v1/quota").await.expect(200).clone();
        assert_eq!(me["tier"], quota["tier"], "/v1/me and /v1/quota disagree");
        me["tier"].as_str().expect("tier").to_owned()
    }

    /// `GET /v1/credits` of `user`.
    pub async fn credits(&self, user: &User) -> Value {
        user.get("/v1/credits").await.expect(200).clone()
    }

    /// Ledger rows of `kind` with `cause`.
    pub async fn ledger_rows(&self, kind: &str, cause: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM credit_ledger WHERE kind = $1 AND cause = $2",
        )
        .bind(kind)
        .bind(cause)
        .fetch_one(self.srv.state.store.pool())
        .await
        .expect("count ledger rows");
        n
    }

    /// Allocation rows of the user caused by any invoice.
    pub async fn invoice_allocations(&self, user: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM credit_ledger WHERE user_id = $1 \
             AND kind = 'allocation' AND cause LIKE 'invoice:%'",
        )
        .bind(user)
        .fetch_one(self.srv.state.store.pool())
        .await
        .expect("count allocations");
        n
    }

    /// Rows in `table` (billing's own tables and the ledger).
    pub async fn rows(&self, table: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table}"))
            .fetch_one(self.srv.state.store.pool())
            .await
            .expect("count rows");
        n
    }

    /// The plan amount of `tier` as configured.
    pub fn plan_amount(&self, tier: iskra_protocol::Tier) -> i64 {
        self.srv.state.config.credits.plans.get(tier)
    }
}

/// A subscription of a new customer to `price` for `user` (metadata set as Checkout sets it).
pub fn subscription(user: &str, price: &str, start: i64) -> SubscriptionSpec {
    let customer = iskra_fake_stripe::objects::new_id("cus");
    SubscriptionSpec::active(&customer, price, Some(user), start)
}

/// Every order of `items`.
pub fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            out.push(tail);
        }
    }
    out
}
