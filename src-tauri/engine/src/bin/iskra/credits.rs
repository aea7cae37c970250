//! `iskra credits`: the account's credit balance (the kept one when the server cannot be
//! reached) and `iskra credits history`: the ledger's movements, newest first (S8).

use crate::remote::{runtime, Ctx};
use crate::CliError;
use clap::Subcommand;
use iskra_engine::sync::SyncError;
use iskra_protocol::{Credits, LedgerEntry, Page};

#[derive(Subcommand)]
pub enum CreditsCmd {
    /// The ledger's movements, newest first (allocations, reserves, charges, releases, grants).
    History {
        /// Movements per page (1–100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// `nextCursor` of the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
}

fn require_session(ctx: &Ctx<'_>) -> Result<(), CliError> {
    if ctx.signed_in() {
        Ok(())
    } else {
        Err(CliError::Sync(SyncError::NotSignedIn))
    }
}

/// Runs `iskra credits [history]`.
pub fn credits(ctx: &Ctx<'_>, cmd: Option<CreditsCmd>) -> Result<(), CliError> {
    require_session(ctx)?;
    let client = ctx.client()?;
    match cmd {
        None => {
            let balance = runtime()?
                .block_on(client.credits())?
                .ok_or(CliError::Sync(SyncError::NotSignedIn))?;
            ctx.out.show(&balance, || balance_text(&balance));
        }
        Some(CreditsCmd::History { limit, cursor }) => {
            let page =
                runtime()?.block_on(client.credit_history(cursor.as_deref(), Some(limit)))?;
            ctx.out.show(&page, || history_text(&page));
        }
    }
    Ok(())
}

fn balance_text(c: &Credits) -> String {
    let mut lines = vec![
        format!(
            "{} credits available ({} plan)",
            c.available,
            c.plan.as_str()
        ),
        format!(
            "  plan allocation {} of {} left, renews {}",
            c.allocation, c.monthly_allocation, c.period_ends_at
        ),
        format!("  granted {}", c.grants),
    ];
    if c.reserved > 0 {
        lines.push(format!("  held by running generations {}", c.reserved));
    }
    lines.join("\n")
}

fn history_text(page: &Page<LedgerEntry>) -> String {
    if page.items.is_empty() {
        return "no movements yet".into();
    }
    let mut lines: Vec<String> = page
        .items
        .iter()
        .map(|e| {
            format!(
                "{}  {:<10} {:>+6}  balance {:>6}  {}  ({})",
                e.created_at,
                e.kind.as_str(),
                e.amount,
                e.balance_after,
                e.reason,
                e.cause
            )
        })
        .collect();
    if let Some(next) = &page.next_cursor {
        lines.push(format!("more: iskra credits history --cursor {next}"));
    }
    lines.join("\n")
}
