//! Results: one row per figure with its target, printed as a table and written as JSON, and
//! notes printed after the table.

use serde_json::json;
use std::path::Path;

/// What a figure is held against.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    /// Passes at or above this.
    Min(f64),
    /// Passes at or below this.
    Max(f64),
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
    /// Unit of the figure and of the bound.
    pub unit: &'static str,
    /// The target.
    pub bound: Bound,
}

impl Row {
    /// A row.
    pub fn new(name: String, value: f64, unit: &'static str, bound: Bound) -> Self {
        Self {
            name,
            value,
            unit,
            bound,
        }
    }

    /// `Some(true)` when the bound is met, `None` for information.
    pub fn pass(&self) -> Option<bool> {
        match self.bound {
            Bound::Min(b) => Some(self.value >= b),
            Bound::Max(b) => Some(self.value <= b),
            Bound::Info => None,
        }
    }

    /// The bound as text, e.g. `<= 5.00`.
    fn target(&self) -> Option<String> {
        match self.bound {
            Bound::Min(b) => Some(format!(">= {}", num(b))),
            Bound::Max(b) => Some(format!("<= {}", num(b))),
            Bound::Info => None,
        }
    }
}

/// What a run produced: the figures, and notes for the reader (settings used, server
/// warnings), kept also when a later measurement fails.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

/// A number with 0, 1 or 2 decimals depending on its size.
fn num(v: f64) -> String {
    let decimals = usize::from(v.abs() < 1000.0) + usize::from(v.abs() < 10.0);
    format!("{v:.decimals$}")
}

/// The rows as a fixed-width text table.
pub fn table(rows: &[Row]) -> String {
    let w = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let line = |n: &str, v: &str, u: &str, t: &str, r: &str| {
        format!("{n:<w$}  {v:>12} {u:<8} {t:>10}  {r}\n")
    };
    let mut out = line("measurement", "figure", "unit", "target", "result");
    out += &format!("{}\n", "-".repeat(w + 44));
    for r in rows {
        let verdict = r.pass().map_or("info", |p| if p { "PASS" } else { "FAIL" });
        let target = r.target().unwrap_or_default();
        out += &line(&r.name, &num(r.value), r.unit, &target, verdict);
    }
    out
}

/// Writes the rows and `meta` (machine and run details) as pretty JSON to `path`.
pub fn write_json(path: &Path, rows: &[Row], meta: serde_json::Value) -> anyhow::Result<()> {
    let row = |r: &Row| {
        json!({"name": r.name, "value": r.value, "unit": r.unit,
               "target": r.target(), "pass": r.pass()})
    };
    let results: Vec<_> = rows.iter().map(row).collect();
    let doc = json!({ "meta": meta, "results": results });
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    Ok(std::fs::write(path, text)?)
}
