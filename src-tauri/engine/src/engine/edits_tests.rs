//! Tests of canvas edits, undo/redo and remote merge.

use crate::engine::tests::engine;
use crate::engine::{Edit, NewElement};
use crate::store::outbox::OpPayload;
use crate::zorder::z_after;
use iskra_protocol::{Change, Hlc, Viewport};
use serde_json::json;
use uuid::Uuid;

fn img(x: f64) -> NewElement {
    NewElement::image(None, x, 0.0, 10.0, 10.0)
}

#[test]
fn each_edit_commits_state_journal_and_outbox_with_increasing_clocks() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let (a, r1) = e.add_element(p, &img(1.0)).unwrap();
    let r2 = e.move_element(p, a.id, 5.0, 6.0).unwrap();
    let r3 = e
        .set_viewport(
            p,
            &Viewport {
                x: 1.0,
                y: 2.0,
                scale: 3.0,
            },
        )
        .unwrap();
    assert!(r1.changes[0].clock < r2.changes[0].clock && r2.changes[0].clock < r3.changes[0].clock);
    let open = e.open_project(p).unwrap();
    assert_eq!(
        (open.canvas.elements[0].x, open.canvas.elements[0].y),
        (5.0, 6.0)
    );
    assert_eq!(
        open.canvas.viewport,
        Viewport {
            x: 1.0,
            y: 2.0,
            scale: 3.0
        }
    );
    let queued: Vec<Uuid> = e
        .outbox()
        .unwrap()
        .into_iter()
        .filter(|o| matches!(o.payload, OpPayload::Change { .. }))
        .map(|o| o.op_id)
        .collect();
    let mut sent = r1.op_ids();
    sent.extend(r2.op_ids());
    sent.extend(r3.op_ids());
    assert_eq!(queued, sent);
}

#[test]
fn invalid_edits_change_nothing() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let (a, _) = e.add_element(p, &img(1.0)).unwrap();
    let before = e.outbox().unwrap().len();
    let bad = json!({"width": -3}).as_object().unwrap().clone();
    assert_eq!(
        e.set_properties(p, a.id, bad).unwrap_err().kind(),
        "invalid"
    );
    let unknown = json!({"x": 1}).as_object().unwrap().clone();
    let batch = [
        Edit::Set {
            element_id: a.id,
            props: unknown.clone(),
        },
        Edit::Set {
            element_id: Uuid::new_v4(),
            props: unknown,
        },
    ];
    assert_eq!(e.apply(p, &batch).unwrap_err().kind(), "not_found");
    assert_eq!(
        e.open_project(p).unwrap().canvas.elements[0].x,
        1.0,
        "batch is atomic"
    );
    assert_eq!(e.outbox().unwrap().len(), before);
    assert!(e.add_element(Uuid::new_v4(), &img(0.0)).is_err());
}

#[test]
fn undo_redo_move_add_and_delete() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let (a, _) = e.add_element(p, &img(1.0)).unwrap();
    e.move_element(p, a.id, 50.0, 60.0).unwrap();
    e.delete_element(p, a.id).unwrap();
    let xs = |e: &crate::Engine| {
        e.open_project(p)
            .unwrap()
            .canvas
            .elements
            .iter()
            .map(|el| el.x)
            .collect::<Vec<_>>()
    };
    assert_eq!(xs(&e), Vec::<f64>::new());
    e.undo(p).unwrap().unwrap();
    assert_eq!(xs(&e), [50.0], "undo delete restores");
    e.undo(p).unwrap().unwrap();
    assert_eq!(xs(&e), [1.0], "undo move");
    let r = e.undo(p).unwrap().unwrap();
    assert_eq!(xs(&e), Vec::<f64>::new(), "undo add deletes");
    assert_eq!(r.changes[0].delete, Some(true));
    assert!(e.undo(p).unwrap().is_none());
    e.redo(p).unwrap().unwrap();
    e.redo(p).unwrap().unwrap();
    assert_eq!(xs(&e), [50.0]);
    assert!(e.open_project(p).unwrap().can_redo);
    e.move_element(p, a.id, 7.0, 7.0).unwrap();
    assert!(
        !e.open_project(p).unwrap().can_redo,
        "a new edit clears redo"
    );
    let queued = e.outbox().unwrap().len();
    assert_eq!(queued, 1 + 9, "create + every edit, undo and redo is an op");
}

#[test]
fn undo_skips_elements_deleted_remotely() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let (a, _) = e.add_element(p, &img(1.0)).unwrap();
    e.move_element(p, a.id, 9.0, 9.0).unwrap();
    let del = Change {
        op_id: Uuid::new_v4(),
        element_id: a.id.to_string(),
        set: None,
        delete: Some(true),
        clock: Hlc::new(u64::MAX / 4096, 0, "remote"),
    };
    assert_eq!(e.apply_remote_changes(p, &[del]).unwrap().changed, 1);
    let r = e.undo(p).unwrap().unwrap();
    assert!(r.changes.is_empty());
    assert!(e.open_project(p).unwrap().canvas.elements.is_empty());
}

#[test]
fn remote_changes_merge_by_property_and_advance_the_clock() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let (a, r) = e.add_element(p, &img(1.0)).unwrap();
    let local = r.changes[0].clock.clone();
    let far = Hlc::new(local.millis + 60_000, 0, "zzz");
    let remote = |set: serde_json::Value, clock: Hlc| Change {
        op_id: Uuid::new_v4(),
        element_id: a.id.to_string(),
        set: set.as_object().cloned(),
        delete: None,
        clock,
    };
    let older = Hlc::new(local.millis.saturating_sub(1), 0, "aaa");
    let batch = [
        remote(json!({"x": 99}), older),
        remote(json!({"y": 42}), far.clone()),
    ];
    let applied = e.apply_remote_changes(p, &batch).unwrap();
    assert_eq!((applied.changed, applied.unchanged), (1, 1));
    let el = &e.open_project(p).unwrap().canvas.elements[0];
    assert_eq!(
        (el.x, el.y),
        (1.0, 42.0),
        "older remote x loses, newer y wins"
    );
    let next = e.move_element(p, a.id, 2.0, 2.0).unwrap();
    assert!(
        next.changes[0].clock > far,
        "local clock moved past the remote one"
    );
    let again = e.apply_remote_changes(p, &batch).unwrap();
    assert_eq!(again.changed, 0, "re-applying is a no-op");
}

#[test]
fn clock_survives_reopen_even_if_wall_time_is_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (p, a, far) = {
        let e = crate::Engine::open(dir.path()).unwrap();
        let p = e.create_project(None).unwrap().id;
        let (a, r) = e.add_element(p, &img(1.0)).unwrap();
        let far = Hlc::new(r.changes[0].clock.millis + 3_600_000, 5, "other");
        let c = Change {
            op_id: Uuid::new_v4(),
            element_id: a.id.to_string(),
            set: json!({"rotation": 1}).as_object().cloned(),
            delete: None,
            clock: far.clone(),
        };
        e.apply_remote_changes(p, &[c]).unwrap();
        (p, a.id, far)
    };
    let e = crate::Engine::open(dir.path()).unwrap();
    let r = e.move_element(p, a, 3.0, 3.0).unwrap();
    assert!(r.changes[0].clock > far);
}

#[test]
fn z_after_orders_above() {
    let mut z = z_after(None);
    assert_eq!(z, "a0");
    // 20,000 elements added on top: strictly rising, short, valid for the server.
    for _ in 0..20_000 {
        let next = z_after(Some(&z));
        assert!(next > z, "{next} > {z}");
        assert!(next.len() <= 5, "{next}");
        let v = serde_json::json!(next);
        assert!(iskra_protocol::sync::validate_element_property("z", &v).is_ok());
        z = next;
    }
    assert_eq!(z_after(Some("a1")), "a2");
    assert_eq!(z_after(Some("az")), "b00");
    assert_eq!(z_after(Some("bzz")), "c000");
    // Keys from inserts between two others keep their integer part.
    assert_eq!(z_after(Some("a0V")), "a1");
    // Keys the scheme does not produce still get one above them.
    assert_eq!(z_after(Some("H")), "a0");
    assert_eq!(z_after(Some("n")), format!("n{}1", "0".repeat(13)));
    let long = format!("z{}", "z".repeat(26));
    assert!(z_after(Some(&long)) > long);
    assert_eq!(z_after(Some("not valid!")), "a0");
}
