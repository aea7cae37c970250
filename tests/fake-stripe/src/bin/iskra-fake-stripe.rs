//! The fake Stripe as a process, for manual runs of billing: prints one JSON line
//! `{"apiUrl","secretKey","webhookSecret"}` on stdout, then serves until killed. Point the
//! server's `ISKRA_STRIPE_API_URL`, `ISKRA_STRIPE_SECRET_KEY` and
//! `ISKRA_STRIPE_WEBHOOK_SECRET` at it; with `--webhook-url`, paying on its Checkout page and
//! cancelling in its portal send the events to that endpoint.

use clap::Parser;
use iskra_fake_stripe::{FakeStripe, FakeStripeConfig};
use std::io::Write as _;
use std::net::SocketAddr;

#[derive(Parser)]
#[command(about = "A local fake of Stripe's Checkout and portal APIs and its signed webhooks")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The secret key to accept (random by default).
    #[arg(long, env = "FAKE_STRIPE_SECRET_KEY")]
    secret_key: Option<String>,
    /// The webhook secret to sign with (random by default).
    #[arg(long, env = "FAKE_STRIPE_WEBHOOK_SECRET")]
    webhook_secret: Option<String>,
    /// Where to deliver events, e.g. `http://127.0.0.1:8787/v1/webhooks/stripe`.
    #[arg(long)]
    webhook_url: Option<String>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let config = FakeStripeConfig {
        listen: args.listen,
        secret_key: args.secret_key,
        webhook_secret: args.webhook_secret,
        webhook_url: args.webhook_url,
    };
    let fake = match FakeStripe::try_start(config).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("iskra-fake-stripe: cannot listen on {}: {e}", args.listen);
            std::process::exit(1);
        }
    };
    let line = serde_json::json!({
        "apiUrl": fake.api_url(),
        "secretKey": fake.secret_key(),
        "webhookSecret": fake.webhook_secret(),
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
}
