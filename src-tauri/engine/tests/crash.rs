//! Acceptance test of D3/X1: no acknowledged edit is lost to a kill.
//!
//! Each run starts `iskra debug edits --count 1000` (a real process on a real file), reads the
//! op ids it prints — each printed only after the engine returned, i.e. acknowledged — and kills
//! it with SIGKILL after a random number of them (sometimes before the first, so start-up and
//! migrations get killed too). Then, with the process gone: `PRAGMA integrity_check` is `ok`,
//! every acknowledged op is in the store (its outbox row, written in the same transaction as
//! the state), every acknowledged new element exists, and no element's x is older than the last
//! acknowledged move of it. `ISKRA_CRASH_SEED` replays a run sequence.

use iskra_engine::{store, Engine};
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use uuid::Uuid;

/// Kill-and-check runs.
const RUNS: usize = 20;
/// Edits each child is asked to make (it is killed before it finishes).
const EDITS: u32 = 1000;

struct Acked {
    project: Option<Uuid>,
    ops: Vec<Uuid>,
    added: HashSet<Uuid>,
    /// Largest acknowledged x per element (x grows with the edit index).
    last_x: HashMap<Uuid, f64>,
}

fn parse(lines: &[String]) -> Acked {
    let mut acked = Acked {
        project: None,
        ops: vec![],
        added: HashSet::new(),
        last_x: HashMap::new(),
    };
    for line in lines {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["project", id] => acked.project = Some(id.parse().unwrap()),
            [op, kind, el, x] => {
                let (op, el): (Uuid, Uuid) = (op.parse().unwrap(), el.parse().unwrap());
                acked.ops.push(op);
                if *kind == "add" {
                    acked.added.insert(el);
                }
                acked.last_x.insert(el, x.parse().unwrap());
            }
            other => panic!("unexpected child output {other:?}"),
        }
    }
    acked
}

#[test]
fn sigkill_never_loses_an_acknowledged_edit() {
    let seed = std::env::var("ISKRA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("ISKRA_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut total_acked = 0;
    for run in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        // One run in five is killed before it acknowledged anything.
        let kill_after = if rng.gen_ratio(1, 5) {
            0
        } else {
            rng.gen_range(1..EDITS as usize)
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_iskra"))
            .args(["debug", "edits", "--count", &EDITS.to_string()])
            .env("ISKRA_DATA_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        let mut line = String::new();
        // Wait for `project` plus `kill_after` acknowledged edits, then SIGKILL.
        while kill_after > 0 && lines.len() < kill_after + 1 {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            lines.push(line.trim_end().to_owned());
        }
        let _ = child.kill(); // SIGKILL on Unix
        child.wait().unwrap();
        // Lines already written before the kill were acknowledged too.
        for rest in reader.lines() {
            lines.push(rest.unwrap());
        }
        let acked = parse(&lines);
        total_acked += acked.ops.len();
        eprintln!(
            "run {run}: killed after {} acknowledged edits",
            acked.ops.len()
        );

        let db = dir.path().join(iskra_engine::engine::DB_FILE);
        if !db.exists() {
            assert!(
                acked.ops.is_empty(),
                "run {run}: acknowledged edits but no store"
            );
            continue;
        }
        let conn = store::open_secondary(&db).unwrap();
        assert_eq!(store::integrity_check(&conn).unwrap(), "ok", "run {run}");
        drop(conn);

        let engine = Engine::open(dir.path()).unwrap();
        let queued: HashSet<Uuid> = engine.outbox().unwrap().iter().map(|o| o.op_id).collect();
        for op in &acked.ops {
            assert!(
                queued.contains(op),
                "run {run} (seed {seed}): acknowledged op {op} lost"
            );
        }
        let Some(project) = acked.project else {
            continue;
        };
        let canvas = engine.open_project(project).unwrap().canvas;
        let x: HashMap<Uuid, f64> = canvas.elements.iter().map(|e| (e.id, e.x)).collect();
        for el in &acked.added {
            assert!(
                x.contains_key(el),
                "run {run} (seed {seed}): element {el} lost"
            );
        }
        for (el, last) in &acked.last_x {
            assert!(
                x[el] >= *last,
                "run {run} (seed {seed}): move of {el} to {last} lost"
            );
        }
        assert_eq!(engine.integrity_check().unwrap(), "ok");
    }
    assert!(total_acked > 0, "the child never acknowledged an edit");
}
