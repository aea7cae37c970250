//! How the CLI prints: short text for people, or with `--json` one JSON document per command
//! on stdout (errors as `{"error":{"kind","message"}}` on stderr) for scripts and tests.

use iskra_engine::store::outbox::OutboxOp;
use iskra_engine::OpenProject;
use iskra_protocol::{Element, Project};
use serde::Serialize;
use uuid::Uuid;

/// Output mode of this run.
pub struct Out {
    pub json: bool,
}

impl Out {
    /// Prints `value` as JSON, or `text()` for people.
    pub fn show<T: Serialize + ?Sized>(&self, value: &T, text: impl FnOnce() -> String) {
        if self.json {
            match serde_json::to_string_pretty(value) {
                Ok(s) => println!("{s}"),
                Err(e) => eprintln!("error: cannot encode output: {e}"),
            }
        } else {
            let t = text();
            if !t.is_empty() {
                println!("{t}");
            }
        }
    }

    pub fn error(&self, kind: &str, message: &str) {
        if self.json {
            let v = serde_json::json!({"error": {"kind": kind, "message": message}});
            eprintln!("{v}");
        } else {
            eprintln!("error: {message}");
        }
    }

    pub fn projects(&self, list: &[Project]) {
        self.show(list, || {
            list.iter()
                .map(|p| {
                    format!(
                        "{}  {:<24} {:>4} images {:>4} videos  {}",
                        p.id, p.name, p.image_count, p.video_count, p.updated_at
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
    }

    pub fn project(&self, p: &Project) {
        self.show(p, || format!("{}  {}", p.id, p.name));
    }

    pub fn open_project(&self, p: &OpenProject) {
        self.show(p, || {
            let mut lines = vec![
                format!("{}  {}", p.project.id, p.project.name),
                format!(
                    "modified {}  {} images  {} videos  viewport ({}, {}) ×{}",
                    p.project.updated_at,
                    p.project.image_count,
                    p.project.video_count,
                    p.canvas.viewport.x,
                    p.canvas.viewport.y,
                    p.canvas.viewport.scale
                ),
            ];
            lines.extend(p.canvas.elements.iter().map(element_line));
            lines.join("\n")
        });
    }

    pub fn element(&self, e: &Element) {
        self.show(e, || element_line(e));
    }

    pub fn ops(&self, ops: &[Uuid]) {
        self.show(&serde_json::json!({ "opIds": ops }), || {
            ops.iter()
                .map(|o| format!("op {o}"))
                .collect::<Vec<_>>()
                .join("\n")
        });
    }

    pub fn outbox(&self, ops: &[OutboxOp]) {
        self.show(ops, || {
            if ops.is_empty() {
                return "outbox is empty".into();
            }
            ops.iter()
                .map(|o| {
                    let state = serde_json::to_value(o.state).unwrap_or_default();
                    let err = o
                        .last_error
                        .as_ref()
                        .map(|e| {
                            let d = e.detail();
                            format!("  {} {}", d.code.as_str(), d.message)
                        })
                        .unwrap_or_default();
                    format!(
                        "{}  {:<8} {:<15} attempts {}{err}",
                        o.op_id,
                        state.as_str().unwrap_or("?"),
                        o.payload.kind(),
                        o.attempts
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
    }
}

fn element_line(e: &Element) -> String {
    let kind = serde_json::to_value(e.kind).unwrap_or_default();
    format!(
        "  {} {:<10} at ({}, {}) {}×{} z {}{}",
        e.id,
        kind.as_str().unwrap_or("?"),
        e.x,
        e.y,
        e.width,
        e.height,
        e.z,
        e.asset_id
            .as_ref()
            .map(|a| format!("  asset {a}"))
            .unwrap_or_default()
    )
}
