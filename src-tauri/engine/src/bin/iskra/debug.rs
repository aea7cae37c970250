//! Hidden `iskra debug …` commands for tests of the whole engine in a real process. `edits`
//! applies many canvas edits and prints each one's op id the moment the engine acknowledged it
//! (the edit is durable then); the crash test kills this process at a random point and checks
//! that every printed edit survived.

use iskra_engine::{Engine, NewElement, Result};
use rand::Rng;
use std::io::Write;

/// Applies `count` edits to a new project: adds (about a third) and moves of random elements,
/// with x = the edit's index so later edits have larger x. Prints one line per acknowledged
/// edit: `OP_ID add|move ELEMENT_ID X`, after `project PROJECT_ID`.
pub fn edits(engine: &Engine, count: u32) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let project = engine.create_project(None)?;
    let _ = writeln!(out, "project {}", project.id);
    let _ = out.flush();
    let mut rng = rand::thread_rng();
    let mut elements = Vec::new();
    for i in 0..count {
        let x = f64::from(i);
        let line = if elements.is_empty() || rng.gen_ratio(1, 3) {
            let (el, receipt) =
                engine.add_element(project.id, &NewElement::image(None, x, 0.0, 10.0, 10.0))?;
            elements.push(el.id);
            format!("{} add {} {x}", receipt.changes[0].op_id, el.id)
        } else {
            let id = elements[rng.gen_range(0..elements.len())];
            let receipt = engine.move_element(project.id, id, x, x)?;
            format!("{} move {id} {x}", receipt.changes[0].op_id)
        };
        // The edit is committed: only now is it reported as kept.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    Ok(())
}
