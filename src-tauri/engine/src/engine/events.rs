//! Typed change events of [`Engine`]: which project's canvas changed and which element ids,
//! the project list, which assets — published when the write lock is released after the
//! write committed, so a listener reads exactly what changed instead of re-listing and
//! diffing. A write none of the typed events describes (outbox and sync state, settings,
//! generation records, account) is published as [`EngineEvent::Other`]: listeners re-read the
//! few small things those touch (the sync status, the account). [`Engine::changes`] still
//! ticks after every write for listeners that only need "something changed".

use iskra_protocol::{Change, VIEWPORT_ID};
use std::collections::BTreeSet;
use uuid::Uuid;

/// How many events a slow listener may fall behind before it is told it lagged (then it
/// reads everything again).
pub const EVENT_BUFFER: usize = 1024;

/// One change of the engine's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    /// These elements of the project's canvas were written (created, changed or deleted), on
    /// this device or merged from another.
    Canvas { project: Uuid, elements: Vec<Uuid> },
    /// The project list changed (created, renamed, deleted, edited, synced).
    Projects,
    /// These cached assets changed (imported, deleted, uploaded).
    Assets { ids: Vec<String> },
    /// Another write: sync and outbox state, settings, generations, the account.
    Other,
}

impl EngineEvent {
    /// The canvas event of committed `changes` (the viewport is not an element); `None` when
    /// no element was written.
    pub(crate) fn canvas(project: Uuid, changes: &[Change]) -> Option<Self> {
        let elements: BTreeSet<Uuid> = changes
            .iter()
            .filter(|c| c.element_id != VIEWPORT_ID)
            .filter_map(|c| Uuid::parse_str(&c.element_id).ok())
            .collect();
        (!elements.is_empty()).then(|| Self::Canvas {
            project,
            elements: elements.into_iter().collect(),
        })
    }
}

/// Some elements of a project as they are now: what a listener of [`EngineEvent::Canvas`]
/// reads (never the whole canvas).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ElementsNow {
    /// The visible ones.
    pub present: Vec<iskra_protocol::Element>,
    /// The ones deleted (or never created).
    pub gone: Vec<Uuid>,
    pub can_undo: bool,
    pub can_redo: bool,
}

impl super::Engine {
    /// Reads `ids` of `project`'s canvas, and the undo/redo availability.
    pub fn elements_now(&self, project: Uuid, ids: &[Uuid]) -> crate::Result<ElementsNow> {
        let db = self.db();
        let mut out = ElementsNow::default();
        for id in ids {
            let state = crate::store::canvas::load_element(&db.conn, project, *id)?;
            if state.is_visible() {
                out.present.push(state.to_element(*id));
            } else {
                out.gone.push(*id);
            }
        }
        (out.can_undo, out.can_redo) = db
            .history
            .get(&project)
            .map(|h| (h.can_undo(), h.can_redo()))
            .unwrap_or_default();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::engine;
    use crate::NewElement;
    use tokio::sync::broadcast::error::TryRecvError;

    fn drain(rx: &mut tokio::sync::broadcast::Receiver<EngineEvent>) -> Vec<EngineEvent> {
        let mut out = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(e) => out.push(e),
                Err(TryRecvError::Empty) => return out,
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn writes_publish_what_they_changed() {
        let (e, _dir) = engine();
        let mut rx = e.events();
        let p = e.create_project(None).unwrap().id;
        assert_eq!(drain(&mut rx), [EngineEvent::Projects]);
        let img = NewElement::image(None, 0.0, 0.0, 1.0, 1.0);
        let (a, _) = e.add_element(p, &img).unwrap();
        let canvas = |ids: Vec<Uuid>| EngineEvent::Canvas {
            project: p,
            elements: ids,
        };
        assert_eq!(drain(&mut rx), [canvas(vec![a.id]), EngineEvent::Projects]);
        e.move_element(p, a.id, 5.0, 5.0).unwrap();
        assert_eq!(drain(&mut rx), [canvas(vec![a.id]), EngineEvent::Projects]);
        // The viewport is not an element; a refused edit publishes nothing.
        let vp = iskra_protocol::Viewport {
            x: 1.0,
            y: 1.0,
            scale: 1.0,
        };
        e.set_viewport(p, &vp).unwrap();
        assert_eq!(drain(&mut rx), [EngineEvent::Projects]);
        assert!(e.move_element(p, Uuid::new_v4(), 1.0, 1.0).is_err());
        assert_eq!(drain(&mut rx), []);
        e.undo(p).unwrap();
        assert_eq!(drain(&mut rx), [canvas(vec![a.id]), EngineEvent::Projects]);
        // A write no typed event describes.
        e.set_setting("x", "y").unwrap();
        assert_eq!(drain(&mut rx), [EngineEvent::Other]);
        let now = e.elements_now(p, &[a.id, Uuid::nil()]).unwrap();
        assert_eq!(now.present.len(), 1);
        assert_eq!(now.gone, [Uuid::nil()]);
        assert!(now.can_undo && now.can_redo);
    }
}
