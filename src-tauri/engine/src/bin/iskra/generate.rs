//! `iskra generate`, `iskra generations …` and `iskra models` (D7): request a generation
//! (placed on the canvas as a placeholder and queued like any change, so it waits offline),
//! follow it to its end with `--wait`, list, show, cancel and retry generations, and list the
//! models the server offers (the cached catalogue when it cannot be reached).
//!
//! `--wait` sends the outbox, then keeps the sync client running (its event stream brings
//! `generation.updated`) and asks the server directly every [`POLL_INTERVAL`] as well, printing
//! a line whenever the generation changes, until it ends or `--timeout` passes.

use crate::remote::{flush_if_signed_in, runtime, Ctx};
use crate::CliError;
use iskra_engine::generation::{
    GenerateRequest, GenerationState, LocalGeneration, DEFAULT_OUTPUT_SIDE,
};
use iskra_engine::{EngineError, NewElement};
use iskra_protocol::{ElementKind, GenerationKind, ModelInfo};
use std::time::Duration;
use uuid::Uuid;

/// How often `--wait` asks the server when no event arrives.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// `iskra generate`'s arguments.
#[derive(clap::Args)]
pub struct GenerateCmd {
    pub project: Uuid,
    pub prompt: String,
    /// `text-to-image` (default), `image-to-image` (default with `--from-asset`) or
    /// `image-to-video`.
    #[arg(long)]
    pub kind: Option<GenerationKind>,
    /// A model id of `iskra models` (the kind's default when absent).
    #[arg(long)]
    pub model: Option<String>,
    /// How many images (1–4).
    #[arg(long)]
    pub num: Option<u32>,
    /// One of the model's sizes (e.g. `square_hd`, `landscape_16_9`).
    #[arg(long)]
    pub size: Option<String>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Video length in seconds (1–10).
    #[arg(long)]
    pub duration: Option<u32>,
    /// Start from this image (SHA-256); the placeholder goes next to it on the canvas.
    #[arg(long)]
    pub from_asset: Option<String>,
    /// Follow the generation until it ends; fail when it fails or is canceled.
    #[arg(long)]
    pub wait: bool,
    /// Longest `--wait`, in seconds.
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
}

/// `iskra generations …`.
#[derive(clap::Subcommand)]
pub enum GenerationsCmd {
    /// Generations on this device, newest first.
    List {
        #[arg(long)]
        project: Option<Uuid>,
        /// waiting, queued, running, completed, failed or canceled.
        #[arg(long)]
        status: Option<String>,
    },
    /// One generation (local or server id), refreshed from the server when signed in.
    Show { id: Uuid },
    /// Cancel a generation (withdrawn from the outbox, or canceled on the server).
    Cancel { id: Uuid },
    /// Send a failed or canceled generation again, for the same placeholder.
    Retry { id: Uuid },
}

fn require_session(ctx: &Ctx<'_>) -> Result<(), CliError> {
    if ctx.signed_in() {
        Ok(())
    } else {
        Err(EngineError::SignInRequired.into())
    }
}

/// The visible element showing `sha` on the project's canvas — placed right of everything
/// when there is none (the asset is downloaded first when only the server has it).
fn source_element(ctx: &Ctx<'_>, project: Uuid, sha: &str) -> Result<Uuid, CliError> {
    let open = ctx.engine.open_project(project)?;
    let shown = open
        .canvas
        .elements
        .iter()
        .rev()
        .find(|e| e.asset_id.as_deref() == Some(sha));
    if let Some(e) = shown {
        return Ok(e.id);
    }
    let record = match ctx.engine.asset(sha)? {
        Some(r) => r,
        None if ctx.signed_in() => runtime()?.block_on(ctx.client()?.fetch_asset(sha))?,
        None => return Err(CliError::Usage(format!("no asset {sha} on this device"))),
    };
    let (w, h) = (
        record.width.map_or(DEFAULT_OUTPUT_SIDE, f64::from),
        record.height.map_or(DEFAULT_OUTPUT_SIDE, f64::from),
    );
    let at = ctx.engine.free_spot(project, w, h)?;
    let mut new = NewElement::image(Some(record.sha256), at.x - w / 2.0, at.y - h / 2.0, w, h);
    if record.mime.starts_with("video/") {
        new.kind = ElementKind::Video;
    }
    Ok(ctx.engine.add_element(project, &new)?.0.id)
}

pub fn generate(ctx: &Ctx<'_>, cmd: GenerateCmd) -> Result<(), CliError> {
    require_session(ctx)?;
    let sha = cmd.from_asset.as_deref().map(str::to_ascii_lowercase);
    let kind = cmd.kind.unwrap_or(if sha.is_some() {
        GenerationKind::ImageToImage
    } else {
        GenerationKind::TextToImage
    });
    if kind.needs_image() && sha.is_none() {
        return Err(CliError::Usage(format!(
            "{} starts from an image: give --from-asset SHA",
            kind.as_str()
        )));
    }
    let source = match &sha {
        Some(sha) => Some(source_element(ctx, cmd.project, sha)?),
        None => None,
    };
    let req = GenerateRequest {
        kind,
        model: cmd.model,
        prompt: cmd.prompt,
        image_size: cmd.size,
        num_images: cmd.num,
        seed: cmd.seed,
        duration_s: cmd.duration,
        source_element_id: source,
        at: None,
    };
    let id = ctx.engine.generate(cmd.project, &req)?.generation.id;
    if cmd.wait {
        return follow(ctx, id, Duration::from_secs(cmd.timeout));
    }
    flush_if_signed_in(ctx)?;
    show(ctx, &ctx.engine.generation(id)?);
    Ok(())
}

/// Sends the outbox and follows generation `id` until it ends or `timeout` passes.
fn follow(ctx: &Ctx<'_>, id: Uuid, timeout: Duration) -> Result<(), CliError> {
    let client = ctx.client()?;
    let engine = ctx.engine.clone();
    let ended = runtime()?.block_on(async {
        let mut changes = engine.changes();
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        let mut last = None;
        let watching = async {
            loop {
                let g = engine.generation(id)?;
                let line = progress(&g);
                if last.as_ref() != Some(&line) {
                    if !ctx.out.json {
                        println!("{line}");
                    }
                    last = Some(line);
                }
                if g.status.is_terminal() {
                    return Ok::<_, CliError>(g);
                }
                tokio::select! {
                    _ = changes.changed() => {}
                    _ = poll.tick() => match client.refresh_generation(id).await {
                        Err(e) if e.stops_sync() => return Err(e.into()),
                        Err(e) => tracing::info!(error = %e, "generation not refreshed"),
                        Ok(_) => {}
                    },
                }
            }
        };
        tokio::select! {
            r = client.watch(std::future::pending()) => {
                r?;
                Err(CliError::Usage("sync stopped".into()))
            }
            r = tokio::time::timeout(timeout, watching) => r.unwrap_or_else(|_| {
                Err(CliError::Timeout(format!(
                    "generation {id} has not ended after {} s; follow it with \
                     `iskra generations show {id}`",
                    timeout.as_secs()
                )))
            }),
        }
    })?;
    if ctx.out.json {
        ctx.out.show(&ended, String::new);
    }
    match ended.status {
        GenerationState::Completed => Ok(()),
        _ => Err(CliError::Generation(progress(&ended))),
    }
}

/// The progress line of a generation: `queued (position 2)`, `running`, `completed: 2
/// outputs`, `failed: <reason>`.
pub fn progress(g: &LocalGeneration) -> String {
    match g.status {
        GenerationState::Waiting => "waiting to be sent".into(),
        GenerationState::Queued => match g.queue_position {
            Some(n) => format!("queued (position {n})"),
            None => "queued".into(),
        },
        GenerationState::Running => "running".into(),
        GenerationState::Completed => match g.outputs.len() {
            1 => "completed: 1 output".into(),
            n => format!("completed: {n} outputs"),
        },
        GenerationState::Failed | GenerationState::Canceled => {
            let mut line = g.status.as_str().to_owned();
            if let Some(e) = &g.error {
                line.push_str(&format!(": {}", e.message));
                if let Some(l) = &e.limit {
                    line.push_str(&format!(
                        " ({} limit {}, {} left, resets {})",
                        l.window, l.limit, l.remaining, l.resets_at
                    ));
                }
            }
            line
        }
    }
}

fn line(g: &LocalGeneration) -> String {
    let mut prompt: String = g.prompt.chars().take(40).collect();
    if g.prompt.chars().count() > 40 {
        prompt.push('…');
    }
    format!(
        "{}  {:<14} {}  “{prompt}”  {}",
        g.id,
        g.kind.as_str(),
        if g.model.is_empty() {
            "default"
        } else {
            &g.model
        },
        progress(g)
    )
}

fn show(ctx: &Ctx<'_>, g: &LocalGeneration) {
    ctx.out.show(g, || {
        let mut lines = vec![line(g)];
        if let Some(s) = g.server_id {
            lines.push(format!("  server id {s}"));
        }
        lines.push(format!(
            "  project {}  placeholder {}",
            g.project_id, g.element_id
        ));
        lines.extend(g.outputs.iter().map(|a| format!("  output {a}")));
        lines.join("\n")
    });
}

pub fn generations(ctx: &Ctx<'_>, cmd: GenerationsCmd) -> Result<(), CliError> {
    match cmd {
        GenerationsCmd::List { project, status } => {
            let status = match status.as_deref() {
                Some(s) => Some(GenerationState::parse(s).ok_or_else(|| {
                    CliError::Usage(format!(
                        "unknown status {s:?}: waiting, queued, running, completed, failed or \
                         canceled"
                    ))
                })?),
                None => None,
            };
            let list: Vec<LocalGeneration> = ctx
                .engine
                .generations(project)?
                .into_iter()
                .filter(|g| status.is_none_or(|s| g.status == s))
                .collect();
            ctx.out.show(&list, || {
                if list.is_empty() {
                    return "no generations".into();
                }
                list.iter().map(line).collect::<Vec<_>>().join("\n")
            });
        }
        GenerationsCmd::Show { id } => {
            let mut g = ctx.engine.generation(id)?;
            if ctx.signed_in() && g.server_id.is_some() && !g.status.is_terminal() {
                match runtime()?.block_on(ctx.client()?.refresh_generation(id)) {
                    Ok(fresh) => g = fresh,
                    Err(e) if e.is_retryable() => tracing::info!(error = %e, "not refreshed"),
                    Err(e) => return Err(e.into()),
                }
            }
            show(ctx, &g);
        }
        GenerationsCmd::Cancel { id } => {
            ctx.engine.cancel_generation(id)?;
            flush_if_signed_in(ctx)?;
            show(ctx, &ctx.engine.generation(id)?);
        }
        GenerationsCmd::Retry { id } => {
            require_session(ctx)?;
            ctx.engine.retry_generation(id)?;
            flush_if_signed_in(ctx)?;
            show(ctx, &ctx.engine.generation(id)?);
        }
    }
    Ok(())
}

pub fn models(ctx: &Ctx<'_>) -> Result<(), CliError> {
    let list: Vec<ModelInfo> = if ctx.signed_in() {
        runtime()?.block_on(ctx.client()?.models())?
    } else {
        ctx.engine.models()?
    };
    ctx.out.show(&list, || {
        if list.is_empty() {
            return "no models known yet: sign in and sync".into();
        }
        list.iter()
            .map(|m| {
                format!(
                    "{:<48} {:<14} {}{}  max {}  {}",
                    m.id,
                    m.kind.as_str(),
                    m.label,
                    if m.default { " (default)" } else { "" },
                    m.max_images,
                    m.sizes.join(" ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}
