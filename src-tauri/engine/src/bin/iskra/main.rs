//! `iskra`: the Iskra engine from the command line (X4) — the same engine as the desktop app,
//! without a window, for scripting and for whole-system tests. Global options: `--data-dir`
//! (`ISKRA_DATA_DIR`), `--server` (`ISKRA_SERVER`), `--json` for machine-readable output.

mod api_keys;
mod credits;
mod debug;
mod files;
mod generate;
mod local;
mod output;
mod remote;

use clap::{Parser, Subcommand};
use iskra_engine::auth::{OAuthConfig, Session};
use iskra_engine::secret::{self, MemorySecretStore, SecretStore, SESSION_TOKEN};
use iskra_engine::store::projects::ProjectSort;
use iskra_engine::store::settings;
use iskra_engine::sync::api_keys::ApiKeyError;
use iskra_engine::sync::SyncError;
use iskra_engine::{Engine, EngineError};
use output::Out;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use uuid::Uuid;

/// Default server when neither `--server` nor `ISKRA_SERVER` is given.
const DEFAULT_SERVER: &str = "http://127.0.0.1:8787";

#[derive(Parser)]
#[command(
    name = "iskra",
    version,
    about = "Iskra without a window: projects, assets, sync and AI generation"
)]
struct Cli {
    /// Where the local store lives (default: the platform data dir).
    #[arg(long, env = "ISKRA_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Base URL of the Iskra sync server.
    #[arg(long, env = "ISKRA_SERVER", default_value = DEFAULT_SERVER, global = true)]
    server: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in: in the browser (OAuth 2.0 + PKCE), or with `--dev-token` (dev mode:
    /// `iskra-server token --user NAME`). The session goes to the OS keyring when there is one.
    Login {
        #[arg(long)]
        dev_token: Option<String>,
        /// OAuth issuer (Clerk instance URL).
        #[arg(long, env = "ISKRA_OAUTH_ISSUER")]
        issuer: Option<String>,
        /// OAuth client id of the desktop app.
        #[arg(long, env = "ISKRA_OAUTH_CLIENT_ID")]
        client_id: Option<String>,
        /// Add the projects on this device only (made while signed out) to the account.
        #[arg(long)]
        import_local: bool,
    },
    /// Forget the session (local data stays).
    Logout,
    /// Show sync status: online, pending and rejected operations, last sync, last error.
    Status,
    /// Push the outbox and pull other devices' changes; `--watch` keeps following.
    Sync {
        #[arg(long)]
        watch: bool,
    },
    /// Work with assets (images and videos).
    #[command(subcommand)]
    Assets(AssetsCmd),
    /// Work with projects.
    #[command(subcommand)]
    Projects(ProjectsCmd),
    /// Import an image or video and place it on a project's canvas, centred on --x/--y (as the
    /// app places a dropped file) and on top.
    AddImage {
        project: Uuid,
        file: PathBuf,
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        x: f64,
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        y: f64,
    },
    /// Move an element of a project's canvas.
    Move {
        project: Uuid,
        element: Uuid,
        #[arg(allow_negative_numbers = true)]
        x: f64,
        #[arg(allow_negative_numbers = true)]
        y: f64,
    },
    /// Folders whose new images and videos are imported automatically.
    #[command(subcommand)]
    HotFolder(HotFolderCmd),
    /// Export a project with its assets as an `.iskra` bundle.
    Export { project: Uuid, file: PathBuf },
    /// Import an `.iskra` bundle (a new project id when the id is taken here).
    Import { file: PathBuf },
    /// Inspect the outbox of server-bound changes.
    #[command(subcommand)]
    Outbox(OutboxCmd),
    /// Generate images or a video with AI (needs a session; waits in the outbox offline). The
    /// placeholder goes on the canvas now; `--wait` follows the generation to its end.
    Generate(generate::GenerateCmd),
    /// Generations on this device: list, show, cancel, retry.
    #[command(subcommand)]
    Generations(generate::GenerationsCmd),
    /// The generation models the server offers (the cached list when it cannot be reached).
    Models,
    /// The account's credits (the kept balance when the server cannot be reached);
    /// `history` lists the ledger.
    Credits {
        #[command(subcommand)]
        cmd: Option<credits::CreditsCmd>,
    },
    /// The account's API keys for other apps: create (the key printed once), list, revoke,
    /// usage by day.
    #[command(subcommand)]
    ApiKeys(api_keys::ApiKeysCmd),
    /// Test helpers (not part of the supported interface).
    #[command(subcommand, hide = true)]
    Debug(DebugCmd),
}

#[derive(Subcommand)]
enum ProjectsCmd {
    /// List projects with their image and video counts.
    List {
        /// Only projects whose name contains this (case-insensitive).
        #[arg(long)]
        search: Option<String>,
        /// Order: `updated` (most recent first) or `name`.
        #[arg(long, value_enum, default_value = "updated")]
        sort: SortArg,
    },
    /// Render the project's canvas thumbnail (PNG) and print its path.
    Thumbnail { id: Uuid },
    /// Create a project (named `Iskra NN` by default).
    Create { name: Option<String> },
    /// Rename a project.
    Rename { id: Uuid, name: String },
    /// Delete a project and its canvas for good.
    Delete { id: Uuid },
    /// Show a project and its canvas.
    Show { id: Uuid },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SortArg {
    Updated,
    Name,
}

impl From<SortArg> for ProjectSort {
    fn from(s: SortArg) -> Self {
        match s {
            SortArg::Updated => ProjectSort::Updated,
            SortArg::Name => ProjectSort::Name,
        }
    }
}

#[derive(Subcommand)]
enum HotFolderCmd {
    /// Watch a folder (while `iskra sync --watch` or the app runs).
    Add { folder: PathBuf },
    /// Stop watching a folder.
    Remove { folder: PathBuf },
    /// List watched folders.
    List,
}

#[derive(Subcommand)]
enum AssetsCmd {
    /// List the local asset cache.
    List,
    /// Import a file and upload it (when signed in).
    Upload { file: PathBuf },
    /// Delete an asset here and on the server.
    Delete { sha: String },
    /// Download an asset made on another device into the cache (once) and print its path.
    Fetch { sha: String },
}

#[derive(Subcommand)]
enum OutboxCmd {
    /// List queued and rejected operations.
    List,
    /// Send an operation again at the next sync.
    Retry { op: Uuid },
    /// Drop a rejected operation.
    Discard { op: Uuid },
}

#[derive(Subcommand)]
enum DebugCmd {
    /// Apply COUNT edits, printing each acknowledged op id.
    Edits {
        #[arg(long, default_value_t = 1000)]
        count: u32,
    },
}

/// Anything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Auth(#[from] iskra_engine::auth::AuthError),
    #[error(transparent)]
    ApiKey(#[from] ApiKeyError),
    #[error("{0}")]
    Usage(String),
    /// A followed generation failed or was canceled (fal's reason).
    #[error("generation {0}")]
    Generation(String),
    /// `--wait` gave up.
    #[error("{0}")]
    Timeout(String),
}

impl CliError {
    fn sync_kind(e: &SyncError) -> &'static str {
        match e {
            SyncError::Local(e) => e.kind(),
            SyncError::NotSignedIn | SyncError::Unauthenticated { .. } => "auth",
            e if e.is_retryable() => "network",
            _ => "rejected",
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Engine(e) => e.kind(),
            Self::Sync(e) => Self::sync_kind(e),
            Self::Auth(e) if e.is_retryable() => "network",
            Self::Auth(_) => "auth",
            Self::ApiKey(e) => match e {
                ApiKeyError::TooMany(_) => "conflict",
                ApiKeyError::Invalid(_) => "invalid",
                ApiKeyError::NotFound => "notFound",
                ApiKeyError::Sync(e) => Self::sync_kind(e),
            },
            Self::Usage(_) => "usage",
            Self::Generation(_) => "generation",
            Self::Timeout(_) => "timeout",
        }
    }
}

fn default_data_dir() -> Result<PathBuf, CliError> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("iskra"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| CliError::Usage("no --data-dir, ISKRA_DATA_DIR or HOME".into()))?;
    let base = if cfg!(target_os = "macos") {
        PathBuf::from(home).join("Library/Application Support")
    } else {
        PathBuf::from(home).join(".local/share")
    };
    Ok(base.join("iskra"))
}

fn run(cli: Cli, out: &Out) -> Result<(), CliError> {
    let data_dir = match cli.data_dir {
        Some(d) => d,
        None => default_data_dir()?,
    };
    let engine = Engine::open(&data_dir)?;
    let secrets: Arc<dyn SecretStore> =
        match std::env::var("ISKRA_TOKEN").ok().filter(|t| !t.is_empty()) {
            Some(token) => {
                let memory = MemorySecretStore::default();
                memory.set(SESSION_TOKEN, &token);
                Arc::new(memory)
            }
            // Probed quietly: `login` and `status` tell the user when there is no keyring, and
            // stderr stays one JSON document under `--json`.
            None => match secret::KeyringStore::probe(secret::KEYRING_SERVICE) {
                Some(k) => Arc::new(k),
                None => Arc::new(MemorySecretStore::default()),
            },
        };
    let oauth = match (
        engine.setting(settings::OAUTH_ISSUER)?,
        engine.setting(settings::OAUTH_CLIENT_ID)?,
    ) {
        (Some(issuer), Some(client_id)) => Some(OAuthConfig { issuer, client_id }),
        _ => None,
    };
    let session = Arc::new(Session::new(Arc::clone(&secrets), oauth));
    let ctx = remote::Ctx {
        engine: &engine,
        server: &cli.server,
        secrets: secrets.as_ref(),
        session: &session,
        out,
    };
    match cli.command {
        Command::Login {
            dev_token,
            issuer,
            client_id,
            import_local,
        } => {
            let how = match (dev_token, issuer, client_id) {
                (Some(t), _, _) => remote::LoginWith::DevToken(t),
                (None, Some(issuer), Some(client_id)) => {
                    remote::LoginWith::Browser(OAuthConfig { issuer, client_id })
                }
                _ => {
                    return Err(CliError::Usage(
                        "give --dev-token, or --issuer and --client-id (ISKRA_OAUTH_ISSUER, \
                         ISKRA_OAUTH_CLIENT_ID) for the browser sign-in"
                            .into(),
                    ))
                }
            };
            remote::login(&ctx, how, import_local)
        }
        Command::HotFolder(cmd) => files::hot_folder(&engine, cmd, out),
        Command::Export { project, file } => files::export(&engine, project, &file, out),
        Command::Import { file } => files::import(&ctx, &file),
        Command::Logout => remote::logout(&ctx),
        Command::Status => remote::status(&ctx),
        Command::Sync { watch } => remote::sync(&ctx, watch),
        Command::Assets(cmd) => remote::assets(&ctx, cmd),
        Command::Projects(cmd) => local::projects(&engine, cmd, out),
        Command::AddImage {
            project,
            file,
            x,
            y,
        } => {
            out.element(&engine.add_media(project, &file, x, y)?);
            Ok(())
        }
        Command::Move {
            project,
            element,
            x,
            y,
        } => {
            let receipt = engine.move_element(project, element, x, y)?;
            out.ops(&receipt.op_ids());
            Ok(())
        }
        Command::Outbox(cmd) => local::outbox(&engine, cmd, out),
        Command::Generate(cmd) => generate::generate(&ctx, cmd),
        Command::Generations(cmd) => generate::generations(&ctx, cmd),
        Command::Models => generate::models(&ctx),
        Command::Credits { cmd } => credits::credits(&ctx, cmd),
        Command::ApiKeys(cmd) => api_keys::api_keys(&ctx, cmd),
        Command::Debug(DebugCmd::Edits { count }) => Ok(debug::edits(&engine, count)?),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ISKRA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let out = Out { json: cli.json };
    match run(cli, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out.error(e.kind(), &e.to_string());
            ExitCode::FAILURE
        }
    }
}
