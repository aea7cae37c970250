//! The fake fal as a process, for the desktop E2E tests and manual runs: prints one JSON line
//! `{"queueUrl","restUrl","jwksUrl","key"}` on stdout, then serves until killed. Without
//! `--hold` or `--delay-ms`, jobs complete on submit. Control endpoints: see `admin.rs`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use iskra_fake_fal::{FakeConfig, FakeFal, Progress};

#[derive(Parser)]
#[command(about = "A local fake of fal.ai's queue API, storage upload and signed webhooks")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Jobs stay IN_PROGRESS until released with `POST {queueUrl}/_fake/release/{id}` or
    /// `POST {queueUrl}/_fake/release-all`.
    #[arg(long, conflicts_with = "delay_ms")]
    hold: bool,
    /// Each job completes this many milliseconds after its submit.
    #[arg(long)]
    delay_ms: Option<u64>,
    /// The API key to accept (random by default).
    #[arg(long, env = "FAKE_FAL_KEY")]
    key: Option<String>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let progress = if args.hold {
        Progress::Hold
    } else if let Some(ms) = args.delay_ms {
        Progress::Delay(Duration::from_millis(ms))
    } else {
        Progress::Instant
    };
    let config = FakeConfig {
        listen: args.listen,
        key: args.key,
        progress,
        ..FakeConfig::default()
    };
    let fake = match FakeFal::try_start(config).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("iskra-fake-fal: cannot listen on {}: {e}", args.listen);
            std::process::exit(1);
        }
    };
    let line = serde_json::json!({
        "queueUrl": fake.queue_url(),
        "restUrl": fake.rest_url(),
        "jwksUrl": fake.jwks_url(),
        "key": fake.key(),
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
}
