//! The benchmark canvas: `n` image elements on a grid, made through the engine's API as
//! actions of [`SEED_BATCH`] elements each — one transaction (state, journal and outbox rows)
//! per action, as a large paste or import would write them.

use iskra_engine::{Edit, Engine};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// Elements created per action (per transaction) while seeding.
pub const SEED_BATCH: usize = 1_000;

fn element_props(i: usize) -> Map<String, Value> {
    let v = json!({
        "kind": "image", "x": (i % 50) as f64 * 120.0, "y": (i / 50) as f64 * 120.0,
        "width": 100.0, "height": 80.0, "rotation": 0.0, "z": format!("a{i:05}"), "locked": false,
    });
    v.as_object().cloned().unwrap_or_default()
}

/// Creates a project of `n` elements; returns it and the element ids.
pub fn project(engine: &Engine, n: usize) -> anyhow::Result<(Uuid, Vec<Uuid>)> {
    let p = engine.create_project(Some(&format!("Bench {n}")))?.id;
    let mut ids = Vec::with_capacity(n);
    for start in (0..n).step_by(SEED_BATCH) {
        let edits: Vec<Edit> = (start..(start + SEED_BATCH).min(n))
            .map(|i| {
                let element_id = Uuid::new_v4();
                ids.push(element_id);
                Edit::Create {
                    element_id,
                    props: element_props(i),
                }
            })
            .collect();
        engine.apply(p, &edits)?;
    }
    Ok((p, ids))
}
