//! CLI commands that move files: hot folders (D8) and `.iskra` bundles (D9). Exports, imports
//! and uploads show a progress bar (indicatif) when stdout is a terminal and `--json` is off.

use crate::output::Out;
use crate::remote::{flush_if_signed_in, Ctx};
use crate::{CliError, HotFolderCmd};
use indicatif::{ProgressBar, ProgressStyle};
use iskra_engine::{bundle, Engine};
use std::io::IsTerminal;
use std::path::Path;
use uuid::Uuid;

/// A byte progress bar, hidden unless a person is watching.
pub fn bar(out: &Out, what: &str) -> ProgressBar {
    if out.json || !std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_owned());
    pb
}

pub fn hot_folder(engine: &Engine, cmd: HotFolderCmd, out: &Out) -> Result<(), CliError> {
    match cmd {
        HotFolderCmd::Add { folder } => {
            let added = engine.add_hot_folder(&folder)?;
            out.show(&serde_json::json!({"added": added}), || {
                if added {
                    format!(
                        "watching {} (while `iskra sync --watch` runs)",
                        folder.display()
                    )
                } else {
                    format!("{} is watched already", folder.display())
                }
            });
        }
        HotFolderCmd::Remove { folder } => {
            let removed = engine.remove_hot_folder(&folder)?;
            out.show(&serde_json::json!({"removed": removed}), || {
                if removed {
                    format!("no longer watching {}", folder.display())
                } else {
                    format!("{} was not watched", folder.display())
                }
            });
        }
        HotFolderCmd::List => {
            let list = engine.hot_folders()?;
            out.show(&list, || {
                list.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

pub fn export(engine: &Engine, project: Uuid, file: &Path, out: &Out) -> Result<(), CliError> {
    let pb = bar(out, "exporting");
    let manifest = bundle::export(engine, project, file, &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })?;
    pb.finish_and_clear();
    let value = serde_json::json!({
        "file": file, "project": manifest.project.id,
        "elements": manifest.elements.len(), "assets": manifest.assets.len(),
    });
    out.show(&value, || {
        format!(
            "exported {} ({} elements, {} assets) to {}",
            manifest.project.name,
            manifest.elements.len(),
            manifest.assets.len(),
            file.display()
        )
    });
    Ok(())
}

pub fn import(ctx: &Ctx<'_>, file: &Path) -> Result<(), CliError> {
    let pb = bar(ctx.out, "importing");
    let project = bundle::import(ctx.engine, file, &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })?;
    pb.finish_and_clear();
    flush_if_signed_in(ctx)?;
    ctx.out.project(&ctx.engine.project(project.id)?);
    Ok(())
}
