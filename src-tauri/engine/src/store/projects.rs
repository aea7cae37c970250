//! The `projects` table: create, rename, hard delete, listing with image/video counts (D2).
//!
//! Listing reuses the wire type [`iskra_protocol::Project`] so the desktop, the CLI and the
//! server describe a project the same way. Deleting a project cascades to its elements,
//! viewport, journal, snapshot and cursor; the outbox keeps the server-bound delete. A
//! project's [`ProjectScope`] says whether it syncs with the account or stays on this device.

use crate::error::{EngineError, Result};
use iskra_protocol::Project;
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Prefix of default project names (`Iskra 01`, `Iskra 02`, …).
pub const DEFAULT_NAME_PREFIX: &str = "Iskra ";

const SELECT: &str = "SELECT p.id, p.name, p.created_at, p.updated_at,
        (SELECT count(*) FROM elements e
          WHERE e.project_id = p.id AND e.visible = 1 AND e.kind = 'image'),
        (SELECT count(*) FROM elements e
          WHERE e.project_id = p.id AND e.visible = 1 AND e.kind = 'video'),
        (SELECT json_extract(e.props, '$.assetId') FROM elements e
          WHERE e.project_id = p.id AND e.visible = 1 AND e.kind = 'image'
            AND json_extract(e.props, '$.assetId') IS NOT NULL
          ORDER BY json_extract(e.props, '$.z') DESC LIMIT 1)
     FROM projects p";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Project> {
    let id: String = r.get(0)?;
    Ok(Project {
        id: Uuid::parse_str(&id).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })?,
        name: r.get(1)?,
        created_at: r.get(2)?,
        updated_at: r.get(3)?,
        image_count: r.get(4)?,
        video_count: r.get(5)?,
        thumbnail_asset_id: r.get(6)?,
    })
}

/// Inserts a project; `remote` says whether the server already has it.
pub fn insert(conn: &Connection, id: Uuid, name: &str, now: &str, remote: bool) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO projects (id, name, created_at, updated_at, remote)
         VALUES (?1, ?2, ?3, ?3, ?4)",
    )?
    .execute((id.to_string(), name, now, remote))?;
    Ok(())
}

/// Renames a project; false when it does not exist.
pub fn rename(conn: &Connection, id: Uuid, name: &str, now: &str) -> Result<bool> {
    let n = conn
        .prepare_cached("UPDATE projects SET name = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute((id.to_string(), name, now))?;
    Ok(n == 1)
}

/// Marks a project modified now.
pub fn touch(conn: &Connection, id: Uuid, now: &str) -> Result<()> {
    conn.prepare_cached("UPDATE projects SET updated_at = ?2 WHERE id = ?1")?
        .execute((id.to_string(), now))?;
    Ok(())
}

/// Hard-deletes a project and everything of it (cascade); false when it did not exist.
pub fn delete(conn: &Connection, id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM projects WHERE id = ?1")?
        .execute([id.to_string()])?
        == 1)
}

/// True when the project exists on this device.
pub fn exists(conn: &Connection, id: Uuid) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM projects WHERE id = ?1",
            [id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// One project with its counts.
pub fn get(conn: &Connection, id: Uuid) -> Result<Option<Project>> {
    let sql = format!("{SELECT} WHERE p.id = ?1");
    Ok(conn
        .query_row(&sql, [id.to_string()], from_row)
        .optional()?)
}

/// Every project, most recently modified first.
pub fn list(conn: &Connection) -> Result<Vec<Project>> {
    let sql = format!("{SELECT} ORDER BY p.updated_at DESC, p.name ASC");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Order of a project listing (D2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectSort {
    /// Most recently modified first.
    #[default]
    Updated,
    /// By name, case-insensitively, A to Z.
    Name,
}

/// Projects whose name contains `query` (case-insensitive; `None` or blank: all), sorted.
pub fn search(conn: &Connection, query: Option<&str>, sort: ProjectSort) -> Result<Vec<Project>> {
    let order = match sort {
        ProjectSort::Updated => "p.updated_at DESC, p.name COLLATE NOCASE ASC",
        ProjectSort::Name => "p.name COLLATE NOCASE ASC, p.updated_at DESC",
    };
    let pattern = query.map(str::trim).filter(|q| !q.is_empty()).map(|q| {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let sql = format!("{SELECT} WHERE ?1 IS NULL OR p.name LIKE ?1 ESCAPE '\\' ORDER BY {order}");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([pattern], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether a project syncs with the signed-in account (D6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectScope {
    /// Synced: its operations are queued for the server (the default).
    Account,
    /// Made while signed out; the user has not yet answered the offer to add it to the
    /// account. Nothing is queued for it.
    Offered,
    /// Kept on this device by the user's choice. Nothing is queued for it.
    Device,
}

impl ProjectScope {
    /// The value stored in `projects.scope`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Offered => "offered",
            Self::Device => "device",
        }
    }

    /// Reads a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Account, Self::Offered, Self::Device]
            .into_iter()
            .find(|scope| scope.as_str() == s)
    }
}

/// The scope of a project (`None` when it does not exist).
pub fn scope(conn: &Connection, id: Uuid) -> Result<Option<ProjectScope>> {
    let s: Option<String> = conn
        .prepare_cached("SELECT scope FROM projects WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    s.map(|s| {
        ProjectScope::parse(&s).ok_or_else(|| EngineError::Corrupt(format!("project scope {s:?}")))
    })
    .transpose()
}

/// Sets the scope of a project; false when it does not exist.
pub fn set_scope(conn: &Connection, id: Uuid, scope: ProjectScope) -> Result<bool> {
    let n = conn
        .prepare_cached("UPDATE projects SET scope = ?2 WHERE id = ?1")?
        .execute((id.to_string(), scope.as_str()))?;
    Ok(n == 1)
}

/// Projects of one scope with their counts, most recently modified first.
pub fn in_scope(conn: &Connection, scope: ProjectScope) -> Result<Vec<Project>> {
    let sql = format!("{SELECT} WHERE p.scope = ?1 ORDER BY p.updated_at DESC, p.id");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([scope.as_str()], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records that the server has the project (its create was accepted).
pub fn set_remote(conn: &Connection, id: Uuid) -> Result<()> {
    conn.prepare_cached("UPDATE projects SET remote = 1 WHERE id = ?1")?
        .execute([id.to_string()])?;
    Ok(())
}

/// Ids of projects the server is known to have.
pub fn remote_ids(conn: &Connection) -> Result<Vec<Uuid>> {
    let mut stmt = conn.prepare("SELECT id FROM projects WHERE remote = 1")?;
    let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(ids
        .filter_map(|s| s.ok().and_then(|s| Uuid::parse_str(&s).ok()))
        .collect())
}

/// The pull cursor of a project (`None` before its first pull).
pub fn cursor(conn: &Connection, id: Uuid) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT cursor FROM sync_cursors WHERE project_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Stores the pull cursor of a project (ignored when the project is gone).
pub fn set_cursor(conn: &Connection, id: Uuid, cursor: &str, now: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_cursors (project_id, cursor, synced_at)
         SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM projects WHERE id = ?1)
         ON CONFLICT(project_id) DO UPDATE SET cursor = excluded.cursor,
           synced_at = excluded.synced_at",
    )?
    .execute((id.to_string(), cursor, now))?;
    Ok(())
}

/// Takes in a project listed by the server: inserted when unknown here; renamed when the
/// server's name differs and no local rename is queued. Returns true when it was new.
pub fn adopt(conn: &Connection, p: &Project) -> Result<bool> {
    let id = p.id.to_string();
    // A project deleted here whose delete is still queued must not come back.
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO projects (id, name, created_at, updated_at, remote)
         SELECT ?1, ?2, ?3, ?4, 1 WHERE NOT EXISTS
           (SELECT 1 FROM outbox WHERE project_id = ?1 AND kind = 'project.delete')",
        )?
        .execute((&id, &p.name, &p.created_at, &p.updated_at))?
        == 1;
    if !inserted {
        conn.prepare_cached(
            "UPDATE projects SET name = ?2, remote = 1 WHERE id = ?1 AND name != ?2
               AND NOT EXISTS (SELECT 1 FROM outbox
                               WHERE project_id = ?1 AND kind = 'project.rename')",
        )?
        .execute((&id, &p.name))?;
    }
    Ok(inserted)
}

/// The default name for a new project: `Iskra NN` with the smallest number not in use.
pub fn next_default_name(conn: &Connection) -> Result<String> {
    let mut stmt = conn.prepare("SELECT name FROM projects WHERE name LIKE 'Iskra %'")?;
    let used: std::collections::HashSet<u32> = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .filter_map(|n| n.ok())
        .filter_map(|n| parse_default_number(&n))
        .collect();
    let n = (1..).find(|n| !used.contains(n)).unwrap_or(1);
    Ok(format!("{DEFAULT_NAME_PREFIX}{n:02}"))
}

/// The number of a default name (`Iskra 07` → 7); `None` for any other name.
fn parse_default_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix(DEFAULT_NAME_PREFIX)?;
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counts and the thumbnail of a project row come from indexes (migration
    /// `20261202090000_element_count_indexes`): no scan of the project's elements, no sort —
    /// on a 100,000-element canvas those were most of the time to open it.
    #[test]
    fn counts_and_thumbnail_read_indexes_not_the_canvas() {
        let conn = crate::store::open_in_memory().unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {SELECT} WHERE p.id = ?1");
        let mut stmt = conn.prepare(&sql).unwrap();
        let plan: Vec<String> = stmt
            .query_map(["p"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let on_elements: Vec<&String> = plan.iter().filter(|d| d.contains(" e ")).collect();
        assert_eq!(on_elements.len(), 3, "{plan:?}");
        assert_eq!(
            on_elements
                .iter()
                .filter(|d| d.contains("COVERING INDEX elements_counts"))
                .count(),
            2,
            "{plan:?}"
        );
        assert!(
            on_elements
                .iter()
                .any(|d| d.contains("INDEX elements_thumbnail")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|d| d.contains("TEMP B-TREE")), "{plan:?}");
    }

    #[test]
    fn default_names_take_the_next_free_number() {
        let conn = crate::store::open_in_memory().unwrap();
        assert_eq!(next_default_name(&conn).unwrap(), "Iskra 01");
        for name in ["Iskra 01", "Iskra 02", "Iskra 04", "Iskra 5", "Iskraxx"] {
            insert(&conn, Uuid::new_v4(), name, "t", false).unwrap();
        }
        assert_eq!(next_default_name(&conn).unwrap(), "Iskra 03");
        insert(&conn, Uuid::new_v4(), "Iskra 03", "t", false).unwrap();
        assert_eq!(next_default_name(&conn).unwrap(), "Iskra 05");
        assert_eq!(parse_default_number("Iskra 100"), Some(100));
    }

    #[test]
    fn rename_delete_and_list_order() {
        let conn = crate::store::open_in_memory().unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        insert(&conn, a, "A", "2025-01-01T00:00:00.000Z", false).unwrap();
        insert(&conn, b, "B", "2025-01-02T00:00:00.000Z", false).unwrap();
        assert_eq!(
            list(&conn)
                .unwrap()
                .iter()
                .map(|p| p.id)
                .collect::<Vec<_>>(),
            [b, a]
        );
        assert!(rename(&conn, a, "A2", "2025-01-03T00:00:00.000Z").unwrap());
        let listed = list(&conn).unwrap();
        assert_eq!((listed[0].id, listed[0].name.as_str()), (a, "A2"));
        assert!(delete(&conn, a).unwrap());
        assert!(!delete(&conn, a).unwrap());
        assert!(get(&conn, a).unwrap().is_none());
        assert!(!rename(&conn, a, "x", "t").unwrap());
    }

    #[test]
    fn scope_defaults_to_account_and_lists_by_scope() {
        let conn = crate::store::open_in_memory().unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        insert(&conn, a, "A", "t", false).unwrap();
        insert(&conn, b, "B", "t", false).unwrap();
        assert_eq!(scope(&conn, a).unwrap(), Some(ProjectScope::Account));
        assert!(set_scope(&conn, b, ProjectScope::Device).unwrap());
        assert!(!set_scope(&conn, Uuid::new_v4(), ProjectScope::Device).unwrap());
        assert_eq!(scope(&conn, Uuid::new_v4()).unwrap(), None);
        let kept: Vec<_> = in_scope(&conn, ProjectScope::Device)
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(kept, [b]);
        assert!(in_scope(&conn, ProjectScope::Offered).unwrap().is_empty());
        assert_eq!(ProjectScope::parse("offered"), Some(ProjectScope::Offered));
        assert_eq!(ProjectScope::parse("x"), None);
    }

    #[test]
    fn adopt_inserts_unknown_and_follows_remote_names() {
        let conn = crate::store::open_in_memory().unwrap();
        let mut p = Project {
            id: Uuid::new_v4(),
            name: "Remote".into(),
            created_at: "t".into(),
            updated_at: "t".into(),
            image_count: 0,
            video_count: 0,
            thumbnail_asset_id: None,
        };
        assert!(adopt(&conn, &p).unwrap());
        assert_eq!(remote_ids(&conn).unwrap(), [p.id]);
        p.name = "Renamed elsewhere".into();
        assert!(!adopt(&conn, &p).unwrap());
        assert_eq!(get(&conn, p.id).unwrap().unwrap().name, "Renamed elsewhere");
        assert_eq!(cursor(&conn, p.id).unwrap(), None);
        set_cursor(&conn, p.id, "c1", "t").unwrap();
        set_cursor(&conn, Uuid::new_v4(), "c1", "t").unwrap();
        assert_eq!(cursor(&conn, p.id).unwrap().as_deref(), Some("c1"));
    }
}
