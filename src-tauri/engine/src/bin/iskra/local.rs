//! CLI commands that only touch the local store: projects and the outbox.

use crate::output::Out;
use crate::{CliError, OutboxCmd, ProjectsCmd};
use iskra_engine::Engine;

pub fn projects(engine: &Engine, cmd: ProjectsCmd, out: &Out) -> Result<(), CliError> {
    match cmd {
        ProjectsCmd::List { search, sort } => {
            out.projects(&engine.search_projects(search.as_deref(), sort.into())?)
        }
        ProjectsCmd::Thumbnail { id } => {
            let path = engine.project_thumbnail(id)?;
            out.show(&serde_json::json!({"thumbnail": path}), || match &path {
                Some(p) => p.display().to_string(),
                None => "the canvas is empty: no thumbnail".into(),
            });
        }
        ProjectsCmd::Create { name } => out.project(&engine.create_project(name.as_deref())?),
        ProjectsCmd::Rename { id, name } => out.project(&engine.rename_project(id, &name)?),
        ProjectsCmd::Delete { id } => {
            engine.delete_project(id)?;
            out.show(&serde_json::json!({"deleted": id}), || {
                format!("deleted {id}")
            });
        }
        ProjectsCmd::Show { id } => out.open_project(&engine.open_project(id)?),
    }
    Ok(())
}

pub fn outbox(engine: &Engine, cmd: OutboxCmd, out: &Out) -> Result<(), CliError> {
    match cmd {
        OutboxCmd::List => out.outbox(&engine.outbox()?),
        OutboxCmd::Retry { op } => {
            engine.outbox_retry(op)?;
            out.show(&serde_json::json!({"retried": op}), || {
                format!("{op} will be sent again")
            });
        }
        OutboxCmd::Discard { op } => {
            engine.outbox_discard(op)?;
            out.show(&serde_json::json!({"discarded": op}), || {
                format!("discarded {op}")
            });
        }
    }
    Ok(())
}
