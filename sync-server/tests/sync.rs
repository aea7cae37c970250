//! Canvas sync (S3): two devices of one user edit offline and converge on the server's canvas
//! with every edit kept (property-level last-writer-wins by HLC, delete vs later edit), pushes
//! are idempotent by op id, `GET /changes` pulls from a cursor, `project.changed` reaches the
//! other device live and `Last-Event-ID` replays what it missed, and invalid changes are
//! rejected one by one while the valid ones apply.

#[macro_use]
mod common;

use common::replica::{canvas_of, Replica};
use common::sse::EventStream;
use common::{Backend, TestServer, User};
use iskra_protocol::Element;
use serde_json::{json, Value};
use uuid::Uuid;

fn el() -> String {
    Uuid::new_v4().to_string()
}

fn find<'a>(elements: &'a [Element], id: &str) -> Option<&'a Element> {
    elements.iter().find(|e| e.id.to_string() == id)
}

/// Both devices and the server show the same canvas.
async fn assert_converged(user: &User, project: Uuid, devices: &[&Replica]) {
    let server = canvas_of(&user.project(project).await);
    for d in devices {
        assert_eq!(
            d.canvas(),
            server,
            "device {} differs from the server",
            d.clock.node()
        );
    }
}

async fn offline_edits_of_two_devices_converge(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let p = alice.new_project().await;
    let (mut d1, mut d2) = (Replica::new("dev1"), Replica::new("dev2"));
    let ids: Vec<String> = (0..5).map(|_| el()).collect();
    for (i, id) in ids.iter().enumerate() {
        let z = format!("a{i}");
        d1.set(
            id,
            json!({"kind": "image", "x": 0, "y": 0, "width": 100, "height": 80, "z": z}),
            1000,
        );
    }
    d1.sync(&alice, p).await;
    d2.sync(&alice, p).await;
    assert_converged(&alice, p, &[&d1, &d2]).await;

    let [e1, e2, e3, e4, e5] = [0, 1, 2, 3, 4].map(|i| ids[i].as_str());
    let e6 = el();
    // Device 1, offline.
    d1.set(e1, json!({"x": 10, "y": 20}), 2000);
    d1.set(e2, json!({"rotation": 45}), 2001);
    d1.set(e2, json!({"x": 111}), 2002);
    d1.delete(e4, 2003);
    d1.set(e5, json!({"x": 5}), 2004);
    d1.set(e3, json!({"y": 7}), 4000);
    d1.set("viewport", json!({"x": -50, "scale": 2}), 4001);
    d1.set(e1, json!({"rotation": 10}), 5000);
    // Device 2, offline at the same time.
    d2.set(e3, json!({"locked": true}), 3000);
    d2.set(e2, json!({"width": 300}), 3001);
    d2.set(e2, json!({"x": 222}), 3002);
    d2.set(e4, json!({"x": 44}), 3003);
    d2.delete(e5, 3004);
    d2.set(&e6, json!({"kind": "video", "z": "b0", "playback": {"playing": true, "currentTime": 1.5, "muted": true}}), 3005);
    d2.set(e3, json!({"y": 8}), 3006);
    d2.set("viewport", json!({"y": 30}), 3007);
    d2.set(e1, json!({"rotation": 20}), 5000);

    d1.sync(&alice, p).await;
    d2.sync(&alice, p).await;
    d1.sync(&alice, p).await;
    assert_converged(&alice, p, &[&d1, &d2]).await;

    let canvas = canvas_of(&alice.project(p).await);
    let get = |id: &str| {
        find(&canvas.elements, id)
            .unwrap_or_else(|| panic!("element {id} missing"))
            .clone()
    };
    let (x1, x2, x3, x4) = (get(e1), get(e2), get(e3), get(e4));
    assert_eq!((x1.x, x1.y), (10.0, 20.0), "a move of device 1 is kept");
    assert_eq!(
        x1.rotation, 20.0,
        "same millis: the tie breaks by node id (dev2 > dev1)"
    );
    assert_eq!(
        (x2.rotation, x2.width, x2.x),
        (45.0, 300.0, 222.0),
        "different properties kept; later x wins"
    );
    assert_eq!(
        (x3.locked, x3.y),
        (true, 7.0),
        "device 1's later y wins over device 2's earlier one"
    );
    assert_eq!(x4.x, 44.0, "a move later than the delete keeps the element");
    assert!(
        find(&canvas.elements, e5).is_none(),
        "a delete later than the move wins"
    );
    let x6 = get(&e6);
    assert_eq!(x6.playback.as_ref().map(|p| p.current_time), Some(1.5));
    assert_eq!(
        (canvas.viewport.x, canvas.viewport.y, canvas.viewport.scale),
        (-50.0, 30.0, 2.0)
    );
    let project = alice.project(p).await;
    assert_eq!(
        (
            project["imageCount"].as_i64(),
            project["videoCount"].as_i64()
        ),
        (Some(4), Some(1))
    );
}

async fn repeated_push_changes_nothing(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let p = alice.new_project().await;
    let mut other = Replica::new("other");
    other.set(&el(), json!({"x": 1}), 500);
    other.sync(&alice, p).await;
    let mut d = Replica::new("dev1");
    d.set(
        &el(),
        json!({"kind": "image", "x": 3, "width": 5, "height": 5}),
        1000,
    );
    d.set("viewport", json!({"scale": 0.5}), 1001);
    let body = json!({"clientId": d.client_id, "since": null, "changes": d.outbox});
    let path = format!("/v1/projects/{p}/sync");
    let first = alice.post(&path, &body).await.expect(200).clone();
    let snapshot = alice.project(p).await;
    assert_eq!(snapshot["cursor"], first["cursor"]);
    for _ in 0..2 {
        let again = alice.post(&path, &body).await.expect(200).clone();
        assert_eq!(again, first, "a repeated push answers like the first");
        assert_eq!(
            alice.project(p).await,
            snapshot,
            "a repeated push changes nothing"
        );
    }
    let from_cursor =
        json!({"clientId": d.client_id, "since": first["cursor"], "changes": d.outbox});
    let tail = alice.post(&path, &from_cursor).await.expect(200).clone();
    assert_eq!(
        (&tail["cursor"], &tail["changes"]),
        (&first["cursor"], &json!([]))
    );
    assert_eq!(alice.project(p).await, snapshot);
}

/// The op ids of a list of changes.
fn op_ids(changes: &Value) -> Vec<String> {
    changes
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["opId"].as_str().unwrap().to_owned())
        .collect()
}

async fn changes_since_a_cursor_are_exactly_the_later_ones(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let p = alice.new_project().await;
    let (mut d1, mut d2) = (Replica::new("dev1"), Replica::new("dev2"));
    let a = d1.set(&el(), json!({"x": 1}), 1000);
    let c1 = d1.sync(&alice, p).await["cursor"].clone();
    let bs = [
        d2.set(&el(), json!({"y": 2}), 2000),
        d2.set(&el(), json!({"z": "b5"}), 2001),
    ];
    d2.sync(&alice, p).await;
    let c = d1.set(&el(), json!({"width": 9}), 3000);
    let c3 = d1.sync(&alice, p).await["cursor"].clone();

    let since = alice
        .get(&format!(
            "/v1/projects/{p}/changes?since={}",
            c1.as_str().unwrap()
        ))
        .await;
    let since = since.expect(200);
    let later: Vec<String> = bs.iter().chain([&c]).map(|x| x.op_id.to_string()).collect();
    assert_eq!(op_ids(&since["changes"]), later);
    assert_eq!(since["cursor"], c3);
    assert_eq!(
        since["changes"][0],
        serde_json::to_value(&bs[0]).unwrap(),
        "changes keep their clocks"
    );
    let all = alice
        .get(&format!("/v1/projects/{p}/changes"))
        .await
        .expect(200)
        .clone();
    assert_eq!(
        op_ids(&all["changes"]),
        [vec![a.op_id.to_string()], later].concat()
    );
    let none = alice
        .get(&format!(
            "/v1/projects/{p}/changes?since={}",
            c3.as_str().unwrap()
        ))
        .await;
    assert_eq!(none.expect(200)["changes"], json!([]));
    let bad = alice
        .get(&format!("/v1/projects/{p}/changes?since=abc"))
        .await;
    bad.expect_error(400, "BAD_REQUEST");
}

async fn live_events_reach_the_other_device_and_resume(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let p = alice.new_project().await;
    let mut d1 = Replica::new("dev1");
    let mut d2 = Replica::new("dev2");
    let mut stream = EventStream::open(&alice, None).await;
    d1.set(&el(), json!({"x": 1}), 1000);
    let k1 = d1.sync(&alice, p).await["cursor"].clone();
    // With Redis, the project's creation (cursor 0) is relayed asynchronously and may reach a
    // stream opened after the creation was answered; it is older than the push, never newer.
    let ev = loop {
        let ev = stream.next_named("project.changed").await;
        if ev.data != json!({"projectId": p, "cursor": "0"}) {
            break ev;
        }
    };
    assert_eq!(ev.data, json!({"projectId": p, "cursor": k1}));
    let seen = ev.id.expect("events carry ids");
    drop(stream);

    // Device 2 is away while two more pushes happen, then resumes.
    let mut missed = Vec::new();
    for t in [2000, 3000] {
        d1.set(&el(), json!({"y": t}), t);
        missed.push(d1.sync(&alice, p).await["cursor"].clone());
    }
    let mut resumed = EventStream::open(&alice, Some(&seen)).await;
    for cursor in &missed {
        let ev = resumed.next_named("project.changed").await;
        assert_eq!(ev.data, json!({"projectId": p, "cursor": cursor}));
    }
    d2.sync(&alice, p).await;
    assert_eq!(d2.cursor.as_deref(), missed[1].as_str());
    assert_converged(&alice, p, &[&d1, &d2]).await;
}

async fn invalid_changes_are_rejected_while_valid_ones_apply(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let p = alice.new_project().await;
    let good = el();
    let change = |element: &str, extra: Value| {
        let mut c = json!({"opId": Uuid::new_v4(), "elementId": element, "clock": "0001732300000000-000001-dev1"});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    };
    let valid = change(
        &good,
        json!({"set": {"kind": "image", "x": 1.5, "width": 10, "height": 10}}),
    );
    let invalid = [
        change(&el(), json!({"set": {"width": -1}})),
        change(&el(), json!({"set": {"height": 0}})),
        change(&el(), json!({"set": {"nope": 1}})),
        change(&el(), json!({"set": {"x": "12"}})),
        change(&el(), json!({"set": {"assetId": "not-a-hash"}})),
        change(&el(), json!({"set": {}})),
        change("not-a-uuid", json!({"set": {"x": 1}})),
        change("viewport", json!({"delete": true})),
        change("viewport", json!({"set": {"scale": -2}})),
        change(&el(), json!({"delete": false})),
        change(&el(), json!({"set": {"x": 1}, "delete": true})),
    ];
    let mut changes = vec![valid.clone()];
    changes.extend(invalid.iter().cloned());
    let res = alice
        .post(
            &format!("/v1/projects/{p}/sync"),
            &json!({"clientId": Uuid::new_v4(), "changes": changes}),
        )
        .await;
    let out = res.expect(200);
    let rejected = out["rejected"].as_array().unwrap();
    let want: Vec<&Value> = invalid.iter().map(|c| &c["opId"]).collect();
    assert_eq!(
        rejected.iter().map(|r| &r["opId"]).collect::<Vec<_>>(),
        want
    );
    for r in rejected {
        assert_eq!(r["error"]["code"], "VALIDATION_FAILED");
        assert!(!r["error"]["message"].as_str().unwrap().is_empty());
    }
    let canvas = canvas_of(&alice.project(p).await);
    assert_eq!(canvas.elements.len(), 1);
    assert_eq!(
        (canvas.elements[0].id.to_string(), canvas.elements[0].x),
        (good, 1.5)
    );
    let log = alice
        .get(&format!("/v1/projects/{p}/changes"))
        .await
        .expect(200)
        .clone();
    assert_eq!(
        op_ids(&log["changes"]),
        vec![valid["opId"].as_str().unwrap().to_owned()]
    );
}

backend_tests!(
    offline_edits_of_two_devices_converge,
    repeated_push_changes_nothing,
    changes_since_a_cursor_are_exactly_the_later_ones,
    live_events_reach_the_other_device_and_resume,
    invalid_changes_are_rejected_while_valid_ones_apply,
);
