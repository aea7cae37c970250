//! CLI commands that talk to the sync server: sign-in, status, sync and assets. The session
//! comes from `login` (kept in the OS keyring when there is one, else in memory for this
//! process only — never a plaintext file) or from `ISKRA_TOKEN`.

use crate::output::Out;
use crate::{AssetsCmd, CliError};
use iskra_engine::auth::{self, BrowserOpener, OAuthConfig, Session, Tokens};
use iskra_engine::hotfolder::HotFolderWatcher;
use iskra_engine::secret::{SecretStore, NO_KEYRING_WARNING, SESSION_TOKEN};
use iskra_engine::store::settings;
use iskra_engine::sync::{self, SyncClient};
use iskra_engine::Engine;
use std::path::Path;
use std::sync::Arc;

/// What remote commands need.
pub struct Ctx<'a> {
    pub engine: &'a Engine,
    pub server: &'a str,
    pub secrets: &'a dyn SecretStore,
    pub session: &'a Arc<Session>,
    pub out: &'a Out,
}

impl Ctx<'_> {
    /// A sync client of the session; uploads show a progress bar on a terminal.
    pub fn client(&self) -> Result<SyncClient, CliError> {
        let mut client =
            SyncClient::with_session(self.engine.clone(), self.server, Arc::clone(self.session))?;
        let pb = crate::files::bar(self.out, "uploading");
        if !pb.is_hidden() {
            client.set_upload_progress(Arc::new(move |sha: &str, sent, total| {
                pb.set_message(format!("uploading {}", &sha[..sha.len().min(12)]));
                pb.set_length(total);
                pb.set_position(sent);
                if sent >= total {
                    pb.finish_and_clear();
                    pb.reset();
                }
            }));
        }
        Ok(client)
    }

    pub fn signed_in(&self) -> bool {
        self.secrets.get(SESSION_TOKEN).is_some()
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))
}

/// How to sign in.
pub enum LoginWith {
    DevToken(String),
    Browser(OAuthConfig),
}

/// Prints the authorize URL and tries to open the system browser.
struct SystemBrowser;

impl BrowserOpener for SystemBrowser {
    fn open(&self, url: &str) {
        eprintln!("Sign in in your browser:\n  {url}");
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        if let Err(e) = std::process::Command::new(opener)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            tracing::info!(error = %e, "could not open a browser; open the URL by hand");
        }
    }
}

pub fn login(ctx: &Ctx<'_>, how: LoginWith, import_local: bool) -> Result<(), CliError> {
    let rt = runtime()?;
    let tokens = match how {
        LoginWith::DevToken(token) => Tokens {
            access_token: token,
            refresh_token: None,
            expires_at_ms: None,
        },
        LoginWith::Browser(cfg) => {
            let tokens = rt.block_on(auth::sign_in(&cfg, &SystemBrowser))?;
            ctx.engine
                .set_setting(settings::OAUTH_ISSUER, &cfg.issuer)?;
            ctx.engine
                .set_setting(settings::OAUTH_CLIENT_ID, &cfg.client_id)?;
            tokens
        }
    };
    let client = SyncClient::new(ctx.engine.clone(), ctx.server, &tokens.access_token)?;
    let me = rt.block_on(client.api().me())?;
    ctx.session.save(&tokens);
    let first = !ctx.engine.local_offer_answered()?;
    let imported = if import_local {
        Some(ctx.engine.import_local_projects()?)
    } else {
        None
    };
    let local_only = ctx.engine.local_only_project_count()?;
    let persisted = ctx.secrets.is_persistent();
    let value = serde_json::json!({"user": me, "server": ctx.server, "sessionPersisted": persisted,
        "importedLocalProjects": imported, "localOnlyProjects": local_only});
    ctx.out.show(&value, || {
        let mut s = format!(
            "signed in to {} as {}",
            ctx.server,
            me.email.as_deref().unwrap_or(&me.id)
        );
        if !persisted {
            s.push_str(&format!(
                "\n{NO_KEYRING_WARNING} (never written to disk); set ISKRA_TOKEN for later \
                 commands"
            ));
        }
        match imported {
            Some(n) => s.push_str(&format!("\nimported {n} local project(s) into the account")),
            None if first && local_only > 0 => s.push_str(&format!(
                "\n{local_only} project(s) made while signed out stay on this device; run \
                 `iskra login --import-local` to add them to this account"
            )),
            None => {}
        }
        s
    });
    Ok(())
}

pub fn logout(ctx: &Ctx<'_>) -> Result<(), CliError> {
    ctx.session.clear();
    ctx.out.show(&serde_json::json!({"signedIn": false}), || {
        "signed out; local projects and assets are kept".into()
    });
    Ok(())
}

pub fn status(ctx: &Ctx<'_>) -> Result<(), CliError> {
    let st = sync::status(ctx.engine, ctx.signed_in())?;
    // The status flag of D6: whether the session survives this process (an OS keyring).
    let persisted = ctx.secrets.is_persistent();
    let mut value = serde_json::to_value(&st).map_err(|e| CliError::Usage(e.to_string()))?;
    value["sessionPersisted"] = serde_json::json!(persisted);
    ctx.out.show(&value, || {
        let mut lines = vec![
            st.indicator.clone(),
            format!("pending {}  rejected {}", st.pending, st.rejected),
        ];
        if !persisted {
            lines.push(NO_KEYRING_WARNING.to_owned());
        }
        if let Some(t) = &st.last_sync_at {
            lines.push(format!("last sync {t}"));
        }
        if let Some(e) = &st.last_error {
            lines.push(format!("last error: {e}"));
        }
        lines.join("\n")
    });
    Ok(())
}

pub fn sync(ctx: &Ctx<'_>, watch: bool) -> Result<(), CliError> {
    let client = ctx.client()?;
    let rt = runtime()?;
    if watch {
        let _hot = HotFolderWatcher::start(ctx.engine.clone())?;
        rt.block_on(client.watch(async {
            let _ = tokio::signal::ctrl_c().await;
        }))?;
        return status(ctx);
    }
    let report = rt.block_on(client.sync_once())?;
    ctx.out.show(&report, || {
        format!(
            "sent {}  rejected {}  waiting {}  pulled {}  new projects {}",
            report.sent, report.rejected, report.deferred, report.pulled, report.new_projects
        )
    });
    Ok(())
}

pub fn assets(ctx: &Ctx<'_>, cmd: AssetsCmd) -> Result<(), CliError> {
    match cmd {
        AssetsCmd::List => {
            let list = ctx.engine.assets()?;
            ctx.out.show(&list, || {
                list.iter()
                    .map(|a| {
                        format!(
                            "{}  {:<16} {:>10} B  {}×{}  {}",
                            a.sha256,
                            a.mime,
                            a.size_bytes,
                            a.width.unwrap_or(0),
                            a.height.unwrap_or(0),
                            if a.uploaded { "uploaded" } else { "local" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        AssetsCmd::Upload { file } => upload(ctx, &file)?,
        AssetsCmd::Fetch { sha } => {
            let client = ctx.client()?;
            let record = runtime()?.block_on(client.fetch_asset(&sha.to_ascii_lowercase()))?;
            let path = ctx.engine.asset_path(&record);
            ctx.out
                .show(&serde_json::json!({"asset": record, "path": path}), || {
                    path.display().to_string()
                });
        }
        AssetsCmd::Delete { sha } => {
            ctx.engine.delete_asset(&sha)?;
            flush_if_signed_in(ctx)?;
            ctx.out.show(&serde_json::json!({"deleted": sha}), || {
                format!("deleted {sha}")
            });
        }
    }
    Ok(())
}

fn upload(ctx: &Ctx<'_>, file: &Path) -> Result<(), CliError> {
    let (record, _) = ctx.engine.import_asset(file)?;
    flush_if_signed_in(ctx)?;
    let record = ctx.engine.asset(&record.sha256)?.unwrap_or(record);
    ctx.out.show(&record, || {
        let state = if record.uploaded {
            "uploaded"
        } else {
            "queued for upload"
        };
        format!("{}  {}  {state}", record.sha256, record.mime)
    });
    Ok(())
}

/// Sends the outbox now when a session is at hand; a transient failure leaves it queued.
pub fn flush_if_signed_in(ctx: &Ctx<'_>) -> Result<(), CliError> {
    if !ctx.signed_in() {
        return Ok(());
    }
    match runtime()?.block_on(ctx.client()?.sync_once()) {
        Ok(_) => Ok(()),
        Err(e) if e.is_retryable() => {
            tracing::warn!(error = %e, "not sent yet; it stays in the outbox");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
