//! Engine-only figures on one canvas size in a temp data dir: an edit acknowledged (its SQLite
//! transaction committed: state, journal and outbox rows); a snapshot pass on the snapshot
//! thread, with edits timed while it runs (they must not wait for it); a project opened by a
//! freshly started engine (store opened, canvas materialised) and the memory that takes.

use crate::{percentile, proc, seed, Row, Size};
use anyhow::Context;
use iskra_engine::Engine;
use rand::Rng;
use std::time::{Duration, Instant};
use uuid::Uuid;

const EDITS: usize = 1_000;
const SNAPSHOTS: usize = 20;
const OPENS: usize = 10;

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

/// Moves a random element of `ids` somewhere random; the time until it was acknowledged.
fn edit(engine: &Engine, p: Uuid, ids: &[Uuid], rng: &mut impl Rng) -> anyhow::Result<Duration> {
    let id = ids[rng.gen_range(0..ids.len())];
    let (x, y) = (rng.gen_range(-5e3..5e3), rng.gen_range(-5e3..5e3));
    Ok(timed(|| Ok(engine.move_element(p, id, x, y)?))?.0)
}

/// Snapshot passes on the snapshot thread, each after an edit (so there is something to
/// write), with edits made back to back while each runs. Returns the passes' times and the
/// times of the edits made meanwhile.
fn snapshots(
    engine: &Engine,
    p: Uuid,
    ids: &[Uuid],
    rng: &mut impl Rng,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let (mut passes, mut during) = (Vec::new(), Vec::new());
    while passes.len() < SNAPSHOTS {
        edit(engine, p, ids, rng)?;
        let request = engine.request_snapshot();
        let pass = loop {
            during.push(edit(engine, p, ids, rng).context("edit while a snapshot runs")?);
            if let Some(outcome) = request.try_outcome() {
                break outcome.context("snapshot pass")?;
            }
        };
        // Zero when the periodic pass had just written it: measure again.
        if pass.written == 1 {
            passes.push(pass.elapsed);
        }
    }
    Ok((passes, during))
}

/// `OPENS` opens by a freshly started engine each; the RSS of the process with the last one
/// open, and the part of it that maps the database file.
fn opens(dir: &std::path::Path, p: Uuid, n: usize) -> anyhow::Result<(Vec<Duration>, (u64, u64))> {
    let mut rss = (0, 0);
    let opens = sample(OPENS, || {
        let (t, (engine, open)) = timed(|| {
            let engine = Engine::open(dir)?;
            let open = engine.open_project(p)?;
            Ok((engine, open))
        })?;
        anyhow::ensure!(open.canvas.elements.len() == n, "canvas incomplete");
        rss = (proc::rss(), proc::rss_file());
        drop(engine);
        Ok(t)
    })?;
    Ok((opens, rss))
}

/// The local rows of one size's table.
pub fn run(size: &Size) -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(dir.path())?;
    let (seeding, (p, ids)) = timed(|| seed::project(&engine, size.elements)).context("seeding")?;
    // The first pass compacts the whole seeding journal: timed apart, as context.
    let first = engine.request_snapshot().wait().context("first snapshot")?;
    // Seeding and the first pass leave hundreds of MB the kernel has yet to write back; edits
    // timed meanwhile would measure each commit's fsync queued behind that writeback. A user
    // edits a canvas that has long been on disk: flush it first.
    let synced = std::process::Command::new("sync")
        .status()
        .context("running sync")?;
    anyhow::ensure!(synced.success(), "sync failed: {synced}");
    let mut rng = rand::thread_rng();

    let mut edits = sample(EDITS, || edit(&engine, p, &ids, &mut rng)).context("edits")?;
    let (mut passes, mut during) = snapshots(&engine, p, &ids, &mut rng).context("snapshots")?;
    drop(engine);
    let rss_closed = proc::rss();
    let (mut opens, (rss_open, rss_file)) = opens(dir.path(), p, size.elements).context("opens")?;

    let n = size.label();
    let ms = crate::ms;
    Ok(vec![
        Row::info(
            &format!("seed {n} elements (actions of {})", seed::SEED_BATCH),
            ms(seeding),
        ),
        Row::info(
            &format!("first snapshot after seeding ({n}-row journal compacted)"),
            ms(first.elapsed),
        ),
        Row::info(
            "edit acknowledged (journal commit), p50",
            ms(percentile(&mut edits, 50.0)),
        ),
        Row::time(
            &format!("edit acknowledged (journal commit), p99 of {EDITS}"),
            percentile(&mut edits, 99.0),
            size.edit_p99,
        ),
        Row::time(
            &format!("snapshot pass on the snapshot thread, p50 of {SNAPSHOTS}"),
            percentile(&mut passes, 50.0),
            size.snapshot_p50,
        ),
        Row::info(
            &format!("snapshot pass, max of {SNAPSHOTS}"),
            ms(percentile(&mut passes, 100.0)),
        ),
        Row::info(
            &format!(
                "edit acknowledged while a snapshot runs, p50 ({} edits)",
                during.len()
            ),
            ms(percentile(&mut during, 50.0)),
        ),
        Row::time(
            "edit acknowledged while a snapshot runs, p99",
            percentile(&mut during, 99.0),
            size.edit_p99,
        ),
        Row::info(
            "edit acknowledged while a snapshot runs, max",
            ms(percentile(&mut during, 100.0)),
        ),
        Row::time(
            "open project (engine start + canvas), p50",
            percentile(&mut opens, 50.0),
            size.open_p50,
        ),
        Row::info(
            &format!("open project, max of {OPENS}"),
            ms(percentile(&mut opens, 100.0)),
        ),
        Row::info(
            "RSS with the project open (of it file-mapped: the database; engine closed)",
            format!(
                "{} ({}; {})",
                proc::mib(rss_open),
                proc::mib(rss_file),
                proc::mib(rss_closed)
            ),
        ),
    ])
}
