//! `iskra-server`: run the sync server, mint dev tokens, manage users and credits, migrate.

use clap::{Parser, Subcommand};
use iskra_protocol::Tier;
use iskra_server::config::{AuthMode, Config};
use iskra_server::credits::{self, Replenish};
use iskra_server::state::open_store;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "iskra-server", version, about = "The Iskra sync server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Print a dev-mode bearer token for a user (creating the user).
    Token {
        #[arg(long)]
        user: String,
        /// Also set the user's tier.
        #[arg(long)]
        tier: Option<Tier>,
        #[arg(long)]
        email: Option<String>,
        /// Hours until the token expires.
        #[arg(long, default_value_t = 720)]
        ttl_hours: u64,
    },
    /// Manage users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Credits of a user: grant, show.
    Credits {
        #[command(subcommand)]
        command: CreditsCommand,
    },
    /// Apply database migrations and exit.
    Migrate,
}

#[derive(Subcommand)]
enum CreditsCommand {
    /// Grant credits to a user (they roll over).
    Grant {
        user: String,
        amount: u32,
        /// Why (shown in the user's history).
        #[arg(long)]
        reason: String,
    },
    /// Print a user's balance and latest ledger movements.
    Show {
        user: String,
        /// How many movements to print.
        #[arg(long, default_value_t = 20)]
        last: i64,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Set a user's tier (free, pro, enterprise).
    SetTier { user: String, tier: Tier },
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "pretty" {
        builder.init();
    } else {
        builder.json().flatten_event(true).init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load()?;
    init_logging(&config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen).await?;
            tracing::info!(address = %listener.local_addr()?, data_dir = %config.data_dir.display(), "iskra-server listening");
            iskra_server::serve(config, listener, shutdown_signal()).await?;
        }
        Command::Token {
            user,
            tier,
            email,
            ttl_hours,
        } => {
            anyhow::ensure!(
                config.auth_mode == AuthMode::Dev,
                "dev tokens exist only in dev auth mode"
            );
            let store = open_store(&config).await?;
            store.ensure_user(&user, email.as_deref()).await?;
            if let Some(tier) = tier {
                store.set_tier(&user, tier).await?;
            }
            let secret = iskra_server::signing::load_or_create_secret(
                config.signing_secret.as_deref(),
                &config.data_dir,
            )?;
            let dev = iskra_server::signing::dev_auth(&secret, iskra_clock::Clock::System);
            println!(
                "{}",
                dev.mint(
                    &user,
                    email.as_deref(),
                    Duration::from_secs(ttl_hours * 3600)
                )
            );
        }
        Command::Users {
            command: UsersCommand::SetTier { user, tier },
        } => {
            let store = open_store(&config).await?;
            store.set_tier(&user, tier).await?;
            // The new plan's credits for the rest of the period (a top-up, never a second period).
            let cause = format!("admin:{}", uuid::Uuid::new_v4());
            credits::replenish_in(
                &store,
                &config.credits,
                &user,
                tier,
                &cause,
                Replenish::TopUp,
            )
            .await?;
            println!("{user}: {}", tier.as_str());
        }
        Command::Credits { command } => {
            let store = open_store(&config).await?;
            match command {
                CreditsCommand::Grant {
                    user,
                    amount,
                    reason,
                } => {
                    anyhow::ensure!(amount > 0, "grant at least one credit");
                    let row = store.ensure_user(&user, None).await?;
                    let cause = format!("admin:{}", uuid::Uuid::new_v4());
                    credits::grant_in(&store, &row.id, amount.into(), &reason, &cause).await?;
                    println!("{user}: granted {amount} credits");
                }
                CreditsCommand::Show { user, last } => {
                    let row = store
                        .user(&user)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no user {user}"))?;
                    credits::refresh_period(&store, &config.credits, &row).await?;
                    let acc = store.credit_account(&user).await?.unwrap_or_default();
                    let view = credits::view(&config.credits, row.tier(), &acc);
                    println!("{}", serde_json::to_string_pretty(&view)?);
                    for r in store.ledger_page(&user, None, last.clamp(1, 1_000)).await? {
                        println!(
                            "{}  {:<10} {:>+7} held {:>+6}  balance {:>6}  {}  ({})",
                            iskra_server::store::rfc3339(r.created_at),
                            r.kind,
                            r.amount,
                            r.held,
                            r.balance_after,
                            r.reason,
                            r.cause
                        );
                    }
                }
            }
        }
        Command::Migrate => {
            open_store(&config).await?;
            println!("migrations applied");
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("iskra-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}
