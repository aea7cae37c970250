//! Project operations of [`Engine`] (D2): create with the next free default name, rename, hard
//! delete, list and open. Each one also queues the matching server operation in the outbox, in
//! the same transaction.

use super::{Engine, EngineEvent, OpenProject};
use crate::error::{EngineError, Result};
use crate::store::outbox::{self, OpPayload};
use crate::store::projects::ProjectSort;
use crate::store::{canvas, generations, now_rfc3339, projects};
use iskra_protocol::{validate_project_name, Project};
use rusqlite::TransactionBehavior;
use uuid::Uuid;

impl Engine {
    /// Creates a project (named `Iskra NN` when `name` is `None`) and queues its creation on
    /// the server under the same id — unless it is made while signed out before the offer of
    /// D6 was answered: then it stays on this device until the user chooses.
    pub fn create_project(&self, name: Option<&str>) -> Result<Project> {
        self.create_project_with_id(Uuid::new_v4(), name)
    }

    /// Creates a project with a caller-chosen id (deep links, imports).
    pub fn create_project_with_id(&self, id: Uuid, name: Option<&str>) -> Result<Project> {
        if let Some(name) = name {
            validate_project_name(name).map_err(EngineError::Invalid)?;
        }
        let mut db = self.db();
        let tx = db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if projects::exists(&tx, id)? {
            return Err(EngineError::Invalid(format!("project {id} already exists")));
        }
        let name = match name {
            Some(n) => n.to_owned(),
            None => projects::next_default_name(&tx)?,
        };
        let now = now_rfc3339();
        projects::insert(&tx, id, &name, &now, false)?;
        self.place_new_project(&tx, id)?;
        outbox::enqueue(
            &tx,
            Uuid::new_v4(),
            Some(id),
            &OpPayload::ProjectCreate { name },
            &now,
        )?;
        let project = projects::get(&tx, id)?.ok_or(EngineError::ProjectNotFound(id))?;
        tx.commit()?;
        db.record(EngineEvent::Projects);
        self.queued();
        Ok(project)
    }

    /// Renames a project.
    pub fn rename_project(&self, id: Uuid, name: &str) -> Result<Project> {
        validate_project_name(name).map_err(EngineError::Invalid)?;
        let mut db = self.db();
        let tx = db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_rfc3339();
        if !projects::rename(&tx, id, name, &now)? {
            return Err(EngineError::ProjectNotFound(id));
        }
        let payload = OpPayload::ProjectRename {
            name: name.to_owned(),
        };
        outbox::enqueue(&tx, Uuid::new_v4(), Some(id), &payload, &now)?;
        let project = projects::get(&tx, id)?.ok_or(EngineError::ProjectNotFound(id))?;
        tx.commit()?;
        db.record(EngineEvent::Projects);
        self.queued();
        Ok(project)
    }

    /// Deletes a project and all its local state for good, and queues the delete on the
    /// server (not for a project kept off the account). Its queued canvas changes and
    /// generation requests are dropped (they can never apply) and its generations forgotten.
    pub fn delete_project(&self, id: Uuid) -> Result<()> {
        let mut db = self.db();
        let tx = db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Queued while the row still says whether the server may know the project.
        let now = now_rfc3339();
        outbox::enqueue(
            &tx,
            Uuid::new_v4(),
            Some(id),
            &OpPayload::ProjectDelete,
            &now,
        )?;
        if !projects::delete(&tx, id)? {
            return Err(EngineError::ProjectNotFound(id));
        }
        outbox::drop_project_ops(&tx, id)?;
        generations::delete_project(&tx, id)?;
        tx.commit()?;
        db.history.remove(&id);
        db.record(EngineEvent::Projects);
        drop(db);
        self.queued();
        Ok(())
    }

    /// Every project with its image and video counts, most recently modified first.
    pub fn list_projects(&self) -> Result<Vec<Project>> {
        projects::list(&self.db().conn)
    }

    /// Projects whose name contains `query` (case-insensitive), in the given order (D2).
    pub fn search_projects(&self, query: Option<&str>, sort: ProjectSort) -> Result<Vec<Project>> {
        projects::search(&self.db().conn, query, sort)
    }

    /// One project with its counts.
    pub fn project(&self, id: Uuid) -> Result<Project> {
        projects::get(&self.db().conn, id)?.ok_or(EngineError::ProjectNotFound(id))
    }

    /// Opens a project: its listing, materialised canvas and undo/redo availability.
    pub fn open_project(&self, id: Uuid) -> Result<OpenProject> {
        let db = self.db();
        let project = projects::get(&db.conn, id)?.ok_or(EngineError::ProjectNotFound(id))?;
        let canvas = canvas::canvas(&db.conn, id)?;
        let (can_undo, can_redo) = db
            .history
            .get(&id)
            .map(|h| (h.can_undo(), h.can_redo()))
            .unwrap_or_default();
        Ok(OpenProject {
            project,
            canvas,
            can_undo,
            can_redo,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::tests::engine;
    use crate::store::outbox::OpPayload;

    #[test]
    fn create_rename_delete_queue_server_ops_in_order() {
        let (e, _dir) = engine();
        let a = e.create_project(None).unwrap();
        let b = e.create_project(None).unwrap();
        assert_eq!((a.name.as_str(), b.name.as_str()), ("Iskra 01", "Iskra 02"));
        assert_eq!(
            e.rename_project(a.id, "Moodboard").unwrap().name,
            "Moodboard"
        );
        assert_eq!(e.create_project(None).unwrap().name, "Iskra 01");
        assert!(e.rename_project(a.id, "  ").is_err());
        e.delete_project(b.id).unwrap();
        assert!(e.project(b.id).is_err());
        assert!(e.delete_project(b.id).is_err());
        let kinds: Vec<_> = e
            .outbox()
            .unwrap()
            .iter()
            .map(|o| o.payload.kind())
            .collect();
        assert_eq!(
            kinds,
            [
                "project.create",
                "project.create",
                "project.rename",
                "project.create",
                "project.delete"
            ]
        );
        let ops = e.outbox().unwrap();
        assert!(
            matches!(&ops[2].payload, OpPayload::ProjectRename { name } if name == "Moodboard")
        );
        assert_eq!(e.list_projects().unwrap().len(), 2);
    }

    #[test]
    fn search_is_case_insensitive_and_sorts_by_name_or_update() {
        use crate::store::projects::ProjectSort;
        let (e, _dir) = engine();
        let a = e.create_project(Some("beta board")).unwrap();
        e.create_project(Some("Alpha Board")).unwrap();
        e.create_project(Some("100%_done")).unwrap();
        e.rename_project(a.id, "Beta board").unwrap();
        let names = |q: Option<&str>, s| -> Vec<String> {
            e.search_projects(q, s)
                .unwrap()
                .into_iter()
                .map(|p| p.name)
                .collect()
        };
        assert_eq!(
            names(Some("BOARD"), ProjectSort::Name),
            ["Alpha Board", "Beta board"]
        );
        assert_eq!(names(Some("board"), ProjectSort::Updated).len(), 2);
        assert_eq!(names(Some("%_"), ProjectSort::Name), ["100%_done"]);
        assert_eq!(names(Some("  "), ProjectSort::Name).len(), 3);
        assert!(names(Some("zzz"), ProjectSort::Name).is_empty());
    }

    #[test]
    fn open_unknown_project_is_not_found() {
        let (e, _dir) = engine();
        let err = e.open_project(uuid::Uuid::new_v4()).unwrap_err();
        assert_eq!(err.kind(), "not_found");
    }
}
