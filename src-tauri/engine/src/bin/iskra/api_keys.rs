//! `iskra api-keys create|list|revoke|usage` (S9): the account's API keys through the same
//! engine methods as the desktop app. `create` prints the key itself, the only time it is
//! shown; nothing here keeps it.

use crate::remote::{runtime, Ctx};
use crate::CliError;
use clap::Subcommand;
use iskra_engine::sync::api_keys::UsageQuery;
use iskra_engine::sync::SyncError;
use iskra_protocol::{ApiKeyInfo, NewApiKeyCreated, UsageReport};
use uuid::Uuid;

#[derive(Subcommand)]
pub enum ApiKeysCmd {
    /// Make a key; it is printed once and never shown again.
    Create {
        name: String,
        /// `images:generate` and/or `images:read` (repeatable); both when absent.
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// The active keys with today's use, oldest first.
    List,
    /// Revoke a key: it is refused from the next request on.
    Revoke { id: Uuid },
    /// Use by day and key (default: the 30 days to today, every key).
    Usage {
        /// First day, YYYY-MM-DD (UTC).
        #[arg(long)]
        from: Option<String>,
        /// Last day, inclusive.
        #[arg(long)]
        to: Option<String>,
        /// One key (revoked ones too).
        #[arg(long)]
        key: Option<Uuid>,
    },
}

/// Runs `iskra api-keys …`.
pub fn api_keys(ctx: &Ctx<'_>, cmd: ApiKeysCmd) -> Result<(), CliError> {
    if !ctx.signed_in() {
        return Err(CliError::Sync(SyncError::NotSignedIn));
    }
    let client = ctx.client()?;
    let rt = runtime()?;
    match cmd {
        ApiKeysCmd::Create { name, scopes } => {
            let scopes = (!scopes.is_empty()).then_some(scopes);
            let made = rt.block_on(client.create_api_key(&name, scopes))?;
            ctx.out.show(&made, || created_text(&made));
        }
        ApiKeysCmd::List => {
            let keys = rt.block_on(client.api_keys())?;
            ctx.out.show(&keys, || list_text(&keys));
        }
        ApiKeysCmd::Revoke { id } => {
            rt.block_on(client.revoke_api_key(id))?;
            ctx.out.show(&serde_json::json!({ "revoked": id }), || {
                format!("revoked {id}")
            });
        }
        ApiKeysCmd::Usage { from, to, key } => {
            let query = UsageQuery {
                from,
                to,
                key_id: key,
            };
            let report = rt.block_on(client.api_key_usage(&query))?;
            ctx.out.show(&report, || usage_text(&report));
        }
    }
    Ok(())
}

fn created_text(k: &NewApiKeyCreated) -> String {
    format!(
        "{}\n\nkey {} \"{}\" ({}) made. Copy it now: it will not be shown again.",
        k.key,
        k.info.id,
        k.info.name,
        k.info.scopes.join(", ")
    )
}

fn list_text(keys: &[ApiKeyInfo]) -> String {
    if keys.is_empty() {
        return "no API keys".into();
    }
    keys.iter()
        .map(|k| {
            format!(
                "{}  {}…  {:<24} {:<30} created {}  last used {}  {} requests today",
                k.id,
                k.prefix,
                k.name,
                k.scopes.join(","),
                k.created_at,
                k.last_used_at.as_deref().unwrap_or("never"),
                k.usage_today.requests
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn usage_text(r: &UsageReport) -> String {
    let mut lines = vec![format!("{} to {}", r.from, r.to)];
    lines.extend(r.items.iter().map(|row| {
        format!(
            "{}  {}  requests {:>6}  generations {:>5}  images {:>5}  credits {:>6}",
            row.day,
            row.key_id,
            row.usage.requests,
            row.usage.generations,
            row.usage.images,
            row.usage.credits_charged
        )
    }));
    lines.push(format!(
        "total  requests {}  generations {}  images {}  credits {}",
        r.total.requests, r.total.generations, r.total.images, r.total.credits_charged
    ));
    lines.join("\n")
}
