//! Results: one row per figure with its target, printed as a table and written as JSON.

use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;

/// What a figure is held against.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// Passes when the figure is at least this.
    AtLeast(f64),
    /// Passes when the figure is at most this.
    AtMost(f64),
    /// Reported for information only.
    Info,
}

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub name: String,
    /// The figure, in `unit`.
    pub value: f64,
    /// Unit of `value` and of the target.
    pub unit: &'static str,
    /// The target, if any.
    pub target: Target,
}

impl Row {
    /// A row held against `target`.
    pub fn new(name: impl Into<String>, value: f64, unit: &'static str, target: Target) -> Self {
        Self { name: name.into(), value, unit, target }
    }

    /// `Some(true)` when the target is met, `None` for information rows.
    pub fn pass(&self) -> Option<bool> {
        match self.target {
            Target::AtLeast(t) => Some(self.value >= t),
            Target::AtMost(t) => Some(self.value <= t),
            Target::Info => None,
        }
    }

    fn target_text(&self) -> String {
        match self.target {
            Target::AtLeast(t) => format!(">= {} {}", num(t), self.unit),
            Target::AtMost(t) => format!("<= {} {}", num(t), self.unit),
            Target::Info => "-".into(),
        }
    }

    fn verdict(&self) -> &'static str {
        match self.pass() {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "info",
        }
    }
}

/// A number with a precision that suits its size.
fn num(v: f64) -> String {
    match v.abs() {
        a if a >= 1000.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

/// The rows as a fixed-width text table.
pub fn table(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0).max(11);
    let mut out = format!("{:<width$}  {:>18}  {:>18}  result\n", "measurement", "figure", "target");
    out.push_str(&"-".repeat(width + 48));
    out.push('\n');
    for r in rows {
        let figure = format!("{} {}", num(r.value), r.unit);
        let _ = writeln!(out, "{:<width$}  {figure:>18}  {:>18}  {}", r.name, r.target_text(), r.verdict());
    }
    out
}

/// Writes the rows and `meta` (machine and run details) as pretty JSON to `path`.
pub fn write_json(path: &Path, rows: &[Row], meta: Value) -> anyhow::Result<()> {
    let results: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"name": r.name, "value": r.value, "unit": r.unit,
                   "target": r.target_text(), "pass": r.pass()})
        })
        .collect();
    let doc = json!({"meta": meta, "results": results});
    std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")?;
    Ok(())
}
