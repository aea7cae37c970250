//! A model sync client: one device's copy of a canvas, kept with the same merge as every
//! device ([`ObjectState`]), an outbox of unsynced changes, and a cursor. Its materialised
//! canvas must equal the server's after a sync.

use super::User;
use iskra_protocol::merge::ObjectState;
use iskra_protocol::{Canvas, Change, Clock, Hlc, Viewport, VIEWPORT_ID};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

/// One device of a user.
pub struct Replica {
    pub client_id: Uuid,
    pub clock: Clock,
    pub cursor: Option<String>,
    pub outbox: Vec<Change>,
    states: BTreeMap<String, ObjectState>,
}

impl Replica {
    /// A device whose clock has node id `node`.
    pub fn new(node: &str) -> Replica {
        Replica {
            client_id: Uuid::new_v4(),
            clock: Clock::new(node),
            cursor: None,
            outbox: Vec::new(),
            states: BTreeMap::new(),
        }
    }

    /// Edits properties of `element` at wall time `millis` (kept locally and queued).
    pub fn set(&mut self, element: &str, props: Value, millis: u64) -> Change {
        let set: Map<String, Value> = props.as_object().expect("props object").clone();
        let clock = self.clock.tick(millis);
        self.record(Change {
            op_id: Uuid::new_v4(),
            element_id: element.to_owned(),
            set: Some(set),
            delete: None,
            clock,
        })
    }

    /// Deletes `element` at wall time `millis`.
    pub fn delete(&mut self, element: &str, millis: u64) -> Change {
        let clock = self.clock.tick(millis);
        self.record(Change {
            op_id: Uuid::new_v4(),
            element_id: element.to_owned(),
            set: None,
            delete: Some(true),
            clock,
        })
    }

    fn record(&mut self, change: Change) -> Change {
        self.apply(&change);
        self.outbox.push(change.clone());
        change
    }

    fn apply(&mut self, change: &Change) {
        let state = self.states.entry(change.element_id.clone()).or_default();
        match &change.set {
            Some(set) => {
                state.apply_set(set, &change.clock);
            }
            None => {
                state.apply_delete(&change.clock);
            }
        }
    }

    /// Pushes the outbox and pulls the others' changes; returns the response body.
    pub async fn sync(&mut self, user: &User, project: Uuid) -> Value {
        let body = serde_json::json!({ "clientId": self.client_id, "since": self.cursor, "changes": self.outbox });
        let res = user
            .post(&format!("/v1/projects/{project}/sync"), &body)
            .await;
        let out = res.expect(200).clone();
        assert_eq!(
            out["rejected"],
            serde_json::json!([]),
            "a valid push was refused"
        );
        let pulled: Vec<Change> = serde_json::from_value(out["changes"].clone()).expect("changes");
        for change in &pulled {
            self.clock.observe(&change.clock);
            self.apply(change);
        }
        self.outbox.clear();
        self.cursor = out["cursor"].as_str().map(str::to_owned);
        out
    }

    /// This device's view of the canvas, ordered like the server's.
    pub fn canvas(&self) -> Canvas {
        let mut elements: Vec<_> = self
            .states
            .iter()
            .filter(|(id, s)| id.as_str() != VIEWPORT_ID && s.is_visible())
            .map(|(id, s)| s.to_element(id.parse().expect("element uuid")))
            .collect();
        elements.sort_by(|a, b| a.z.cmp(&b.z).then(a.id.cmp(&b.id)));
        let viewport = self
            .states
            .get(VIEWPORT_ID)
            .map_or_else(Viewport::default, ObjectState::to_viewport);
        Canvas { elements, viewport }
    }
}

/// A clock at `millis` on `node` (for hand-made changes).
pub fn hlc(millis: u64, node: &str) -> Hlc {
    Hlc::new(millis, 0, node)
}

/// The canvas of a `GET /v1/projects/{id}` body.
pub fn canvas_of(project: &Value) -> Canvas {
    serde_json::from_value(project["canvas"].clone()).expect("canvas")
}
