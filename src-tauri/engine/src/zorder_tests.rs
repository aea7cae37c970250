use super::*;
use iskra_protocol::ElementKind;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn el(z: &str) -> Element {
    Element {
        id: Uuid::new_v4(),
        kind: ElementKind::Image,
        asset_id: None,
        x: 0.0,
        y: 0.0,
        width: 1.0,
        height: 1.0,
        rotation: 0.0,
        z: z.into(),
        locked: false,
        playback: None,
        generation_id: None,
    }
}

fn order_after(elements: &[Element], moved: &[Uuid], how: ZOrderMove) -> Vec<Uuid> {
    let set: HashSet<Uuid> = moved.iter().copied().collect();
    let mut next: Vec<Element> = elements.to_vec();
    for (id, z) in reorder(elements, &set, how).unwrap() {
        next.iter_mut().find(|e| e.id == id).unwrap().z = z;
    }
    next.sort_by(|a, b| a.z.cmp(&b.z));
    next.into_iter().map(|e| e.id).collect()
}

#[test]
fn reorder_moves_the_group_and_keeps_its_order() {
    let els: Vec<Element> = ["a0", "a1", "a2", "a3"].into_iter().map(el).collect();
    let [a, b, c, d] = [els[0].id, els[1].id, els[2].id, els[3].id];
    assert_eq!(order_after(&els, &[a, b], ZOrderMove::Front), [c, d, a, b]);
    assert_eq!(order_after(&els, &[c, d], ZOrderMove::Back), [c, d, a, b]);
    assert_eq!(order_after(&els, &[b], ZOrderMove::Forward), [a, c, b, d]);
    assert_eq!(order_after(&els, &[c], ZOrderMove::Backward), [a, c, b, d]);
    assert_eq!(order_after(&els, &[d], ZOrderMove::Forward), [a, b, c, d]);
    assert_eq!(order_after(&els, &[a], ZOrderMove::Backward), [a, b, c, d]);
}

#[test]
fn keys_fall_strictly_between() {
    let cases = [
        (None, None),
        (Some("a0"), None),
        (None, Some("a0")),
        (Some("a0"), Some("a1")),
        (Some("a0"), Some("a0V")),
        (Some("az"), Some("b01")),
        (Some("zzzzzzzzzzzzzzzzzzzzzzzzzzz"), None),
        (None, Some("Zz")),
        (Some("a0"), Some("a00001")),
    ];
    for (lo, hi) in cases {
        let k = key_between(lo, hi).unwrap_or_else(|e| panic!("{lo:?}..{hi:?}: {e}"));
        assert!(is_valid(&k), "{k}");
        assert!(lo.is_none_or(|l| l < k.as_str()), "{lo:?} < {k}");
        assert!(hi.is_none_or(|h| k.as_str() < h), "{k} < {hi:?}");
    }
    assert_eq!(key_between(Some("a1"), None).unwrap(), "a2");
    assert_eq!(key_between(Some("az"), None).unwrap(), "b00");
    assert_eq!(key_between(Some("a0V"), None).unwrap(), "a1");
    assert_eq!(key_between(None, Some("a0")).unwrap(), "Zz");
}

#[test]
fn invalid_bounds_are_errors() {
    for k in ["", "a", "a00", "a-", "b0", "A00000000000000000000000000"] {
        assert!(key_between(Some(k), None).is_err(), "{k:?}");
    }
    assert!(key_between(Some("a1"), Some("a1")).is_err());
}

#[test]
fn keys_on_top_step_over_invalid_tops_and_stay_short() {
    assert_eq!(keys_on_top(None, 2), ["a0", "a1"]);
    assert_eq!(keys_on_top(Some("H"), 1), ["a0"]);
    assert_eq!(keys_on_top(Some("a"), 1), ["a0"]);
    assert_eq!(keys_on_top(Some("a00"), 1), ["a1"]);
    let front = keys_on_top(Some("a0"), 10_000);
    assert!(front.windows(2).all(|w| w[0] < w[1]));
    assert!(front.iter().all(|k| k.len() <= 5 && is_valid(k)));
    let keys = n_keys_between(Some("a0"), Some("a1"), 200).unwrap();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    assert!(keys.iter().all(|k| k.as_str() > "a0" && k.as_str() < "a1"));
    assert!(keys.iter().all(|k| k.len() <= iskra_protocol::MAX_Z_LEN));
}

/// 10,000 random operations on a growing list of keys — inserts between neighbours, at
/// either end, several at once, with the bounds sometimes swapped or invalid — answered by
/// this port and by the UI's npm `fractional-indexing` (run under `node`, from `ui/`): every
/// answer must be the same, errors included. Fails, never skips, without node or `npm ci`.
#[test]
fn agrees_with_the_npm_package_on_10000_random_operations() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x15c2a);
    let mut keys: Vec<String> = Vec::new();
    let mut ops: Vec<(Option<String>, Option<String>, usize)> = Vec::new();
    let mut ours: Vec<Option<Vec<String>>> = Vec::new();
    for _ in 0..10_000 {
        let n = if rng.gen_bool(0.8) {
            1
        } else {
            rng.gen_range(0..6)
        };
        let gap = rng.gen_range(0..=keys.len());
        let mut a = gap.checked_sub(1).map(|i| keys[i].clone());
        let mut b = keys.get(gap).cloned();
        match rng.gen_range(0..20) {
            0 => std::mem::swap(&mut a, &mut b),
            1 => a = Some(["a", "a00", "b0", "Zz0"][rng.gen_range(0..4)].to_owned()),
            2 if !keys.is_empty() => b = a.clone(),
            _ => {}
        }
        let got = n_keys_between(a.as_deref(), b.as_deref(), n).ok();
        if let Some(new) = &got {
            if a.as_ref().is_none_or(|a| keys.contains(a))
                && b.as_ref().is_none_or(|b| keys.contains(b))
            {
                keys.extend(new.iter().cloned());
                keys.sort();
                keys.dedup();
            }
        }
        ops.push((a, b, n));
        ours.push(got);
    }
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui");
    assert!(
        ui.join("node_modules/fractional-indexing").is_dir(),
        "the UI's npm packages are missing: run `npm ci` in ui/"
    );
    let mut child = Command::new("node")
        .arg("scripts/zorder-oracle.mjs")
        .current_dir(&ui)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node must be installed to check the z-order keys against the UI's package");
    let input = serde_json::to_vec(&ops).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "node failed");
    let theirs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), ops.len());
    let mut errors = 0;
    for (i, (op, (mine, js))) in ops.iter().zip(ours.iter().zip(&theirs)).enumerate() {
        let mine = match mine {
            Some(keys) => serde_json::json!(keys),
            None => {
                errors += 1;
                serde_json::json!("error")
            }
        };
        assert_eq!(&mine, js, "operation {i}: {op:?}");
    }
    // The run exercised both answers and grew a real key list.
    assert!(errors > 100 && errors < 2_000, "{errors} errors");
    assert!(keys.len() > 5_000, "{} keys", keys.len());
}
