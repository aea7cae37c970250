//! Engine-only figures on a 2,000-element project in a temp data dir: an edit acknowledged
//! (its SQLite transaction committed: state, journal and outbox rows), a snapshot written, and
//! a project opened by a freshly started engine (store opened, canvas materialised).

use crate::{percentile, Row, ELEMENTS};
use iskra_engine::{Edit, Engine};
use rand::Rng;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};
use uuid::Uuid;

const EDITS: usize = 1_000;
const SNAPSHOTS: usize = 20;
const OPENS: usize = 10;
/// Elements created per action while seeding.
const SEED_BATCH: usize = 200;

fn element_props(i: usize) -> Map<String, Value> {
    let v = json!({
        "kind": "image", "x": (i % 50) as f64 * 120.0, "y": (i / 50) as f64 * 120.0,
        "width": 100.0, "height": 80.0, "rotation": 0.0, "z": format!("a{i:05}"), "locked": false,
    });
    v.as_object().cloned().unwrap_or_default()
}

/// Creates a project with [`ELEMENTS`] elements; returns it and the element ids.
pub fn seed_project(engine: &Engine) -> anyhow::Result<(Uuid, Vec<Uuid>)> {
    let p = engine.create_project(Some("Bench 2000"))?.id;
    let mut ids = Vec::with_capacity(ELEMENTS);
    for start in (0..ELEMENTS).step_by(SEED_BATCH) {
        let edits: Vec<Edit> = (start..(start + SEED_BATCH).min(ELEMENTS))
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

/// Times `f` `n` times.
fn sample(
    n: usize,
    mut f: impl FnMut() -> anyhow::Result<Duration>,
) -> anyhow::Result<Vec<Duration>> {
    (0..n).map(|_| f()).collect()
}

fn timed<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(Duration, T)> {
    let t = Instant::now();
    let v = f()?;
    Ok((t.elapsed(), v))
}

/// The local rows of the table.
pub fn run() -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(dir.path())?;
    let (p, ids) = seed_project(&engine)?;
    let mut rng = rand::thread_rng();

    let mut edits = sample(EDITS, || {
        let id = ids[rng.gen_range(0..ids.len())];
        let (x, y) = (rng.gen_range(-5e3..5e3), rng.gen_range(-5e3..5e3));
        Ok(timed(|| Ok(engine.move_element(p, id, x, y)?))?.0)
    })?;
    let mut snaps = sample(SNAPSHOTS, || loop {
        engine.move_element(p, ids[0], rng.gen(), rng.gen())?;
        let (t, written) = timed(|| Ok(engine.snapshot_now()?))?;
        // Zero when the background worker just wrote it: measure again.
        if written == 1 {
            return Ok(t);
        }
    })?;
    drop(engine);
    let mut opens = sample(OPENS, || {
        let (t, (engine, open)) = timed(|| {
            let engine = Engine::open(dir.path())?;
            let open = engine.open_project(p)?;
            Ok((engine, open))
        })?;
        anyhow::ensure!(open.canvas.elements.len() == ELEMENTS, "canvas incomplete");
        drop(engine);
        Ok(t)
    })?;

    let ms = Duration::from_millis;
    Ok(vec![
        Row::info(
            "edit acknowledged (journal commit), p50",
            crate::ms(percentile(&mut edits, 50.0)),
        ),
        Row::time(
            "edit acknowledged (journal commit), p99",
            percentile(&mut edits, 99.0),
            ms(2),
        ),
        Row::time(
            "snapshot write, 2,000 elements, p50 of 20",
            percentile(&mut snaps, 50.0),
            ms(20),
        ),
        Row::info(
            "snapshot write, 2,000 elements, max of 20",
            crate::ms(percentile(&mut snaps, 100.0)),
        ),
        Row::time(
            "open project, 2,000 elements (engine start + canvas), p50",
            percentile(&mut opens, 50.0),
            ms(50),
        ),
        Row::info(
            "open project, 2,000 elements, max of 10",
            crate::ms(percentile(&mut opens, 100.0)),
        ),
    ])
}
