//! Canvas state rows: each element's and the viewport's mergeable [`ObjectState`], and the
//! journal of every change applied to them.
//!
//! The element row stores the merge state as columns (props JSON, clocks JSON, deletion clock)
//! plus the derived `kind` and `visible`, so listings count images and videos in SQL. The
//! journal records local and remote changes in apply order as wire [`Change`]s; it is what
//! a snapshot compacts (see [`crate::snapshot`]).

use super::element_props;
use crate::error::{EngineError, Result};
use iskra_protocol::merge::ObjectState;
use iskra_protocol::{Canvas, Change, Element, Hlc, Viewport};
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Where a journalled change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Made on this device.
    Local,
    /// Pulled from the server.
    Remote,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Local => "local",
            Origin::Remote => "remote",
        }
    }
}

fn state_from_columns(props: &str, clocks: &str, deleted: Option<String>) -> Result<ObjectState> {
    let props: Map<String, Value> = serde_json::from_str(props)?;
    let clocks: BTreeMap<String, Hlc> = serde_json::from_str(clocks)?;
    let deleted = match deleted {
        Some(d) => Some(
            d.parse::<Hlc>()
                .map_err(|e| EngineError::Corrupt(e.to_string()))?,
        ),
        None => None,
    };
    Ok(ObjectState {
        props,
        clocks,
        deleted,
    })
}

/// The merge state of an element; the empty state when it was never seen.
pub fn load_element(conn: &Connection, project: Uuid, element: Uuid) -> Result<ObjectState> {
    let row = conn
        .query_row(
            "SELECT props, clocks, deleted FROM elements WHERE project_id = ?1 AND element_id = ?2",
            (project.to_string(), element.to_string()),
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        Some((p, c, d)) => state_from_columns(&p, &c, d),
        None => Ok(ObjectState::default()),
    }
}

/// Writes an element's merge state (insert or replace).
pub fn save_element(
    conn: &Connection,
    project: Uuid,
    element: Uuid,
    state: &ObjectState,
) -> Result<()> {
    let kind = state.props.get("kind").and_then(Value::as_str);
    conn.prepare_cached(
        "INSERT INTO elements (project_id, element_id, props, clocks, deleted, kind, visible)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(project_id, element_id) DO UPDATE SET props = excluded.props,
           clocks = excluded.clocks, deleted = excluded.deleted, kind = excluded.kind,
           visible = excluded.visible",
    )?
    .execute((
        project.to_string(),
        element.to_string(),
        serde_json::to_string(&state.props)?,
        serde_json::to_string(&state.clocks)?,
        state.deleted.as_ref().map(Hlc::to_string),
        kind,
        state.is_visible(),
    ))?;
    Ok(())
}

/// The viewport's merge state; the empty state when never written.
pub fn load_viewport(conn: &Connection, project: Uuid) -> Result<ObjectState> {
    let row = conn
        .query_row(
            "SELECT props, clocks FROM viewports WHERE project_id = ?1",
            [project.to_string()],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?;
    match row {
        Some((p, c)) => state_from_columns(&p, &c, None),
        None => Ok(ObjectState::default()),
    }
}

/// Writes the viewport's merge state.
pub fn save_viewport(conn: &Connection, project: Uuid, state: &ObjectState) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO viewports (project_id, props, clocks) VALUES (?1, ?2, ?3)
         ON CONFLICT(project_id) DO UPDATE SET props = excluded.props, clocks = excluded.clocks",
    )?
    .execute((
        project.to_string(),
        serde_json::to_string(&state.props)?,
        serde_json::to_string(&state.clocks)?,
    ))?;
    Ok(())
}

/// Column `i` of `row` as text, borrowed.
fn text<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r str> {
    Ok(row.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
}

/// One element of a project as materialised; `None` when it is not visible (deleted, or
/// never written).
pub fn visible_element(conn: &Connection, project: Uuid, id: Uuid) -> Result<Option<Element>> {
    let mut stmt = conn.prepare_cached(
        "SELECT props FROM elements WHERE project_id = ?1 AND element_id = ?2 AND visible = 1",
    )?;
    let mut rows = stmt.query((project.to_string(), id.to_string()))?;
    match rows.next()? {
        Some(row) => Ok(Some(element_props::element(id, text(row, 0)?)?)),
        None => Ok(None),
    }
}

/// The visible elements of a project, back to front (by z, then id), read straight from
/// their stored properties ([`element_props`]).
pub fn elements(conn: &Connection, project: Uuid) -> Result<Vec<Element>> {
    let mut stmt = conn.prepare_cached(
        "SELECT element_id, props FROM elements WHERE project_id = ?1 AND visible = 1",
    )?;
    let mut rows = stmt.query([project.to_string()])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let id = Uuid::parse_str(text(row, 0)?).map_err(|e| EngineError::Corrupt(e.to_string()))?;
        out.push(element_props::element(id, text(row, 1)?)?);
    }
    // Sorting the keys and then placing each element once moves an element (~150 bytes)
    // O(n) times instead of O(n log n): a tenth of opening a 100,000-element canvas.
    out.sort_by_cached_key(|e| (e.z.clone(), e.id));
    Ok(out)
}

/// The merge state (values and per-property clocks) of every visible element, by id.
pub fn element_states(conn: &Connection, project: Uuid) -> Result<Vec<(Uuid, ObjectState)>> {
    let mut stmt = conn.prepare(
        "SELECT element_id, props, clocks, deleted FROM elements
         WHERE project_id = ?1 AND visible = 1 ORDER BY element_id",
    )?;
    let rows = stmt.query_map([project.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, p, c, d) = row?;
        let id = Uuid::parse_str(&id).map_err(|e| EngineError::Corrupt(e.to_string()))?;
        out.push((id, state_from_columns(&p, &c, d)?));
    }
    Ok(out)
}

/// The materialised viewport of a project (the default one when never written).
pub fn viewport(conn: &Connection, project: Uuid) -> Result<Viewport> {
    let viewport = load_viewport(conn, project)?;
    Ok(if viewport.clocks.is_empty() {
        Viewport::default()
    } else {
        viewport.to_viewport()
    })
}

/// The materialised canvas of a project.
pub fn canvas(conn: &Connection, project: Uuid) -> Result<Canvas> {
    Ok(Canvas {
        elements: elements(conn, project)?,
        viewport: viewport(conn, project)?,
    })
}

/// The highest z of the project's elements (deleted ones included, so z stays unique).
pub fn max_z(conn: &Connection, project: Uuid) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT max(json_extract(props, '$.z')) FROM elements WHERE project_id = ?1",
        )?
        .query_row([project.to_string()], |r| r.get(0))?)
}

/// Appends a change to the journal; false when this op id was already journalled.
pub fn journal_append(
    conn: &Connection,
    project: Uuid,
    change: &Change,
    origin: Origin,
    now: &str,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO journal (project_id, op_id, origin, change, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute((
            project.to_string(),
            change.op_id.to_string(),
            origin.as_str(),
            serde_json::to_string(change)?,
            now,
        ))?;
    Ok(n == 1)
}

/// The journalled changes of a project after `after_seq`, in order.
pub fn journal_since(conn: &Connection, project: Uuid, after_seq: i64) -> Result<Vec<Change>> {
    let mut stmt =
        conn.prepare("SELECT change FROM journal WHERE project_id = ?1 AND seq > ?2 ORDER BY seq")?;
    let rows = stmt.query_map((project.to_string(), after_seq), |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row?)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project(conn: &Connection) -> Uuid {
        let id = Uuid::new_v4();
        crate::store::projects::insert(conn, id, "P", "t", false).unwrap();
        id
    }

    #[test]
    fn element_state_round_trips_with_derived_columns() {
        let conn = crate::store::open_in_memory().unwrap();
        let p = project(&conn);
        let e = Uuid::new_v4();
        assert_eq!(load_element(&conn, p, e).unwrap(), ObjectState::default());
        let mut s = ObjectState::default();
        let set = json!({"kind": "video", "x": 3, "z": "a5"})
            .as_object()
            .unwrap()
            .clone();
        s.apply_set(&set, &Hlc::new(10, 0, "n"));
        save_element(&conn, p, e, &s).unwrap();
        assert_eq!(load_element(&conn, p, e).unwrap(), s);
        assert_eq!(elements(&conn, p).unwrap()[0].x, 3.0);
        assert_eq!(
            crate::store::projects::get(&conn, p)
                .unwrap()
                .unwrap()
                .video_count,
            1
        );
        assert_eq!(max_z(&conn, p).unwrap().as_deref(), Some("a5"));
        s.apply_delete(&Hlc::new(11, 0, "n"));
        save_element(&conn, p, e, &s).unwrap();
        assert!(elements(&conn, p).unwrap().is_empty());
        assert_eq!(
            load_element(&conn, p, e).unwrap().deleted,
            Some(Hlc::new(11, 0, "n"))
        );
    }

    #[test]
    fn journal_is_idempotent_by_op_id() {
        let conn = crate::store::open_in_memory().unwrap();
        let p = project(&conn);
        let change: Change = serde_json::from_value(json!({
            "opId": Uuid::new_v4(), "elementId": "viewport", "set": {"scale": 2}, "clock": "1-0-n"
        }))
        .unwrap();
        assert!(journal_append(&conn, p, &change, Origin::Local, "t").unwrap());
        assert!(!journal_append(&conn, p, &change, Origin::Remote, "t").unwrap());
        assert_eq!(journal_since(&conn, p, 0).unwrap(), vec![change]);
        assert_eq!(canvas(&conn, p).unwrap().viewport, Viewport::default());
    }
}
