//! `iskra`: the Iskra engine from the command line (X4) — the same engine as the desktop app,
//! without a window, for scripting and for whole-system tests. Global options: `--data-dir`
//! (`ISKRA_DATA_DIR`), `--server` (`ISKRA_SERVER`), `--json` for machine-readable output.

mod debug;
mod local;
mod output;

use clap::{Parser, Subcommand};
use iskra_engine::{Engine, EngineError};
use output::Out;
use std::path::PathBuf;
use std::process::ExitCode;
use uuid::Uuid;

/// Default server when neither `--server` nor `ISKRA_SERVER` is given.
const DEFAULT_SERVER: &str = "http://127.0.0.1:8787";

#[derive(Parser)]
#[command(name = "iskra", version, about = "Iskra without a window: projects, assets and sync")]
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
    /// Work with projects.
    #[command(subcommand)]
    Projects(ProjectsCmd),
    /// Import an image or video and place it on a project's canvas.
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
    /// Inspect the outbox of server-bound changes.
    #[command(subcommand)]
    Outbox(OutboxCmd),
    /// Test helpers (not part of the supported interface).
    #[command(subcommand, hide = true)]
    Debug(DebugCmd),
}

#[derive(Subcommand)]
enum ProjectsCmd {
    /// List projects with their image and video counts.
    List,
    /// Create a project (named `Iskra NN` by default).
    Create { name: Option<String> },
    /// Rename a project.
    Rename { id: Uuid, name: String },
    /// Delete a project and its canvas for good.
    Delete { id: Uuid },
    /// Show a project and its canvas.
    Show { id: Uuid },
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
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    fn kind(&self) -> &'static str {
        match self {
            Self::Engine(e) => e.kind(),
            Self::Usage(_) => "usage",
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
    match cli.command {
        Command::Projects(cmd) => local::projects(&engine, cmd, out),
        Command::AddImage { project, file, x, y } => {
            out.element(&engine.add_media(project, &file, x, y)?);
            Ok(())
        }
        Command::Move { project, element, x, y } => {
            let receipt = engine.move_element(project, element, x, y)?;
            out.ops(&receipt.op_ids());
            Ok(())
        }
        Command::Outbox(cmd) => local::outbox(&engine, cmd, out),
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
