//! Canvas state and sync: applying a batch of property changes under the project's row lock,
//! the change log behind cursors, and the materialised canvas.
//!
//! A push runs in one transaction that first bumps the project's `seq` (taking its row lock, so
//! pushes to one project commit in `seq` order on both backends), then records op ids (repeats
//! are skipped), merges with [`ObjectState`] and writes elements and change-log rows in bulk:
//! a handful of statements per batch whatever its size. A batch that changes nothing is rolled
//! back, so repeating a push leaves state and cursor untouched.

use super::Store;
use iskra_protocol::merge::ObjectState;
use iskra_protocol::{Canvas, Change, ChangeAction, Target, Viewport, VIEWPORT_ID};
use sqlx::{Any, Transaction};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Most change-log rows one pull returns; the cursor then stops at the last whole batch.
pub const MAX_PULL_ROWS: i64 = 50_000;

/// Result of a sync request.
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    pub cursor: i64,
    pub changes: Vec<Change>,
    pub rejected: Vec<InvalidChange>,
    /// True when this push changed the canvas (and so advanced the cursor).
    pub advanced: bool,
}

/// A change of a push that was not applied because it is not valid.
#[derive(Debug, Clone)]
pub struct InvalidChange {
    pub op_id: Uuid,
    /// What is wrong with it.
    pub reason: String,
}

impl Store {
    /// Applies `changes` from `client` to a project and returns what others changed since
    /// `since`; `None` when the user has no such project.
    pub async fn sync_project(
        &self,
        user: &str,
        project: Uuid,
        client: Uuid,
        since: i64,
        changes: &[Change],
    ) -> Result<Option<SyncOutcome>, sqlx::Error> {
        let mut rejected = Vec::new();
        let mut valid = Vec::with_capacity(changes.len());
        for change in changes {
            match change.validate() {
                Ok((target, action)) => valid.push((change, target, action)),
                Err(reason) => rejected.push(InvalidChange {
                    op_id: change.op_id,
                    reason,
                }),
            }
        }
        let pid = project.to_string();
        let pushed = if valid.is_empty() {
            None
        } else {
            match self.push_valid(user, &pid, client, &valid).await? {
                None => return Ok(None),
                Some(pushed) => pushed,
            }
        };
        let cursor = match pushed {
            Some(seq) => seq,
            None => match self.project_seq(user, &pid).await? {
                Some(seq) => seq,
                None => return Ok(None),
            },
        };
        let since = if since > cursor { 0 } else { since };
        // When this push moved the cursor straight from `since`, nobody else wrote in between:
        // there is nothing to pull.
        let (cursor, changes) = if pushed.is_some() && since == cursor - 1 {
            (cursor, Vec::new())
        } else {
            self.changes_between(user, &pid, Some(client), since, cursor)
                .await?
        };
        Ok(Some(SyncOutcome {
            cursor,
            changes,
            rejected,
            advanced: pushed.is_some(),
        }))
    }

    /// Applies checked changes in one transaction under the project's row lock: `None` when
    /// there is no such project, `Some(None)` when nothing changed, else the new cursor.
    async fn push_valid(
        &self,
        user: &str,
        pid: &str,
        client: Uuid,
        valid: &[(&Change, Target, ChangeAction<'_>)],
    ) -> Result<Option<Option<i64>>, sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        let Some((seq,)) = sqlx::query_as::<_, (i64,)>(
            "UPDATE projects SET seq = seq + 1, updated_at = $1 WHERE user_id = $2 AND id = $3 RETURNING seq",
        )
        .bind(super::now_ms())
        .bind(user)
        .bind(pid)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        match apply_batch(self, &mut tx, user, pid, client, seq, valid).await? {
            Batch::Unchanged => {
                tx.rollback().await?;
                Ok(Some(None))
            }
            Batch::Written(effect) => {
                if effect.counts_changed() {
                    apply_counts(&mut tx, user, pid, &effect).await?;
                }
                tx.commit().await?;
                Ok(Some(Some(seq)))
            }
        }
    }

    /// Writes changes made by the server itself (a generation's outputs) through the same merge
    /// and change log as a device's push. Every change must be valid. `None` when there is no
    /// such project; `Some(None)` when nothing changed (a repeat); else the new cursor.
    pub async fn push_server_changes(
        &self,
        user: &str,
        project: Uuid,
        client: Uuid,
        changes: &[Change],
    ) -> Result<Option<Option<i64>>, sqlx::Error> {
        let mut valid = Vec::with_capacity(changes.len());
        for change in changes {
            let (target, action) = change
                .validate()
                .map_err(|e| sqlx::Error::Protocol(format!("invalid server change: {e}")))?;
            valid.push((change, target, action));
        }
        self.push_valid(user, &project.to_string(), client, &valid)
            .await
    }

    /// The merge state of one element (visible or deleted); `None` when it was never written.
    pub async fn element_state(
        &self,
        user: &str,
        project: Uuid,
        element: Uuid,
    ) -> Result<Option<ObjectState>, sqlx::Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT state FROM elements WHERE user_id = $1 AND project_id = $2 AND id = $3",
        )
        .bind(user)
        .bind(project.to_string())
        .bind(element.to_string())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|(s,)| serde_json::from_str(&s).ok()))
    }

    async fn project_seq(&self, user: &str, pid: &str) -> Result<Option<i64>, sqlx::Error> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT seq FROM projects WHERE user_id = $1 AND id = $2")
                .bind(user)
                .bind(pid)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(s,)| s))
    }

    /// Changes with `since < seq <= upto` (not from `exclude`), and the cursor they bring to.
    async fn changes_between(
        &self,
        user: &str,
        pid: &str,
        exclude: Option<Uuid>,
        since: i64,
        upto: i64,
    ) -> Result<(i64, Vec<Change>), sqlx::Error> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, change FROM changes WHERE user_id = $1 AND project_id = $2 AND seq > $3 \
             AND seq <= $4 AND client_id <> $5 ORDER BY seq, idx LIMIT $6",
        )
        .bind(user)
        .bind(pid)
        .bind(since)
        .bind(upto)
        .bind(exclude.map(|c| c.to_string()).unwrap_or_default())
        .bind(MAX_PULL_ROWS + 1)
        .fetch_all(self.pool())
        .await?;
        let mut cursor = upto;
        let mut rows = rows;
        if rows.len() as i64 > MAX_PULL_ROWS {
            cursor = rows[MAX_PULL_ROWS as usize].0 - 1;
            rows.retain(|(seq, _)| *seq <= cursor);
        }
        let changes = rows
            .iter()
            .filter_map(|(_, c)| serde_json::from_str(c).ok())
            .collect();
        Ok((cursor, changes))
    }

    /// `GET /changes`: every change since the cursor; `None` when there is no such project.
    pub async fn changes_since(
        &self,
        user: &str,
        project: Uuid,
        since: i64,
    ) -> Result<Option<(i64, Vec<Change>)>, sqlx::Error> {
        let pid = project.to_string();
        let Some(upto) = self.project_seq(user, &pid).await? else {
            return Ok(None);
        };
        let since = if since > upto { 0 } else { since };
        Ok(Some(
            self.changes_between(user, &pid, None, since, upto).await?,
        ))
    }

    /// The materialised canvas of a project (visible elements by z, and the viewport).
    pub async fn canvas(&self, user: &str, project: Uuid) -> Result<Canvas, sqlx::Error> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, state FROM elements WHERE user_id = $1 AND project_id = $2")
                .bind(user)
                .bind(project.to_string())
                .fetch_all(self.pool())
                .await?;
        let mut viewport = Viewport::default();
        let mut elements = Vec::with_capacity(rows.len());
        for (id, state) in rows {
            let Ok(state) = serde_json::from_str::<ObjectState>(&state) else {
                continue;
            };
            if id == VIEWPORT_ID {
                viewport = state.to_viewport();
            } else if let (Ok(uuid), true) = (Uuid::parse_str(&id), state.is_visible()) {
                elements.push(state.to_element(uuid));
            }
        }
        elements.sort_by(|a, b| a.z.cmp(&b.z).then(a.id.cmp(&b.id)));
        Ok(Canvas { elements, viewport })
    }
}

/// What applying a batch did.
enum Batch {
    /// Every change was a repeat or lost to a later clock.
    Unchanged,
    /// Something changed, with its effect on the project's counts and thumbnail.
    Written(CountEffect),
}

/// How a batch changes the project's image/video counts, and whether the thumbnail (the
/// topmost visible image with an asset) may have changed.
#[derive(Debug, Default)]
struct CountEffect {
    images: i64,
    videos: i64,
    thumbnail: bool,
}

impl CountEffect {
    fn counts_changed(&self) -> bool {
        self.images != 0 || self.videos != 0 || self.thumbnail
    }

    /// Adds one element's change from `was` to `now` (count keys; `None` = no such element).
    fn add(&mut self, was: Option<&CountKey>, now: Option<&CountKey>) {
        let is =
            |k: Option<&CountKey>, kind: &str| i64::from(k.is_some_and(|k| k.0 && k.1 == kind));
        self.images += is(now, "Image") - is(was, "Image");
        self.videos += is(now, "Video") - is(was, "Video");
        let shows = |k: Option<&CountKey>| k.is_some_and(|k| k.1 == "Image" && k.2.is_some());
        self.thumbnail |= was != now && (shows(was) || shows(now));
    }
}

/// Visibility, kind, asset and z of an element: what counts and thumbnail depend on.
type CountKey = (bool, String, Option<String>, String);

/// What the project's counts and thumbnail depend on, for one element.
fn count_key(id: &str, state: &ObjectState) -> Option<CountKey> {
    let uuid = Uuid::parse_str(id).ok()?;
    let el = state.to_element(uuid);
    Some((
        state.is_visible(),
        format!("{:?}", el.kind),
        el.asset_id,
        el.z,
    ))
}

/// Records op ids, merges and writes one batch.
async fn apply_batch(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    user: &str,
    pid: &str,
    client: Uuid,
    seq: i64,
    valid: &[(&Change, Target, ChangeAction<'_>)],
) -> Result<Batch, sqlx::Error> {
    // Record op ids; RETURNING names only the new ones, so repeats are skipped atomically.
    let mut ids: Vec<String> = valid.iter().map(|(c, ..)| c.op_id.to_string()).collect();
    ids.sort();
    ids.dedup();
    let sql = format!(
        "INSERT INTO ops (user_id, op_id) VALUES {} ON CONFLICT (user_id, op_id) DO NOTHING RETURNING op_id",
        store.row_params(ids.len(), 2, 0)
    );
    let mut q = sqlx::query_as::<_, (String,)>(&sql);
    for id in &ids {
        q = q.bind(user).bind(id.clone());
    }
    let fresh: HashSet<String> = q
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect();
    let mut seen = HashSet::new();
    let todo: Vec<_> = valid
        .iter()
        .filter(|(c, ..)| fresh.contains(&c.op_id.to_string()) && seen.insert(c.op_id))
        .collect();
    if todo.is_empty() {
        return Ok(Batch::Unchanged);
    }

    // Load the current state of every element the batch touches.
    let mut keys: Vec<String> = todo.iter().map(|(c, ..)| c.element_id.clone()).collect();
    keys.sort();
    keys.dedup();
    let head = store.params(0, 2);
    let sql = format!(
        "SELECT id, state FROM elements WHERE user_id = {} AND project_id = {} AND id IN ({})",
        head[0],
        head[1],
        store.params(2, keys.len()).join(", ")
    );
    let mut q = sqlx::query_as::<_, (String, String)>(&sql)
        .bind(user)
        .bind(pid);
    for k in &keys {
        q = q.bind(k.clone());
    }
    let mut states: HashMap<String, ObjectState> = q
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|(id, s)| (id, serde_json::from_str(&s).unwrap_or_default()))
        .collect();
    let before: HashMap<String, _> = states
        .iter()
        .map(|(id, s)| (id.clone(), count_key(id, s)))
        .collect();

    // Merge; keep what won as the change-log entries.
    let mut log = Vec::new();
    let mut dirty = HashSet::new();
    for (change, _target, action) in todo {
        let state = states.entry(change.element_id.clone()).or_default();
        let won = match action {
            ChangeAction::Set(set) => {
                let won = state.apply_set(set, &change.clock);
                (!won.is_empty()).then(|| Change {
                    set: Some(won),
                    ..(*change).clone()
                })
            }
            ChangeAction::Delete => state.apply_delete(&change.clock).then(|| (*change).clone()),
        };
        if let Some(entry) = won {
            dirty.insert(change.element_id.clone());
            log.push(entry);
        }
    }
    if log.is_empty() {
        return Ok(Batch::Unchanged);
    }
    let mut effect = CountEffect::default();
    for id in &dirty {
        let was = before.get(id).and_then(Option::as_ref);
        effect.add(was, count_key(id, &states[id]).as_ref());
    }

    // Write the changed elements.
    let dirty: Vec<&String> = keys.iter().filter(|k| dirty.contains(*k)).collect();
    let sql = format!(
        "INSERT INTO elements (user_id, project_id, id, state, visible, kind, asset_id, z) VALUES {} \
         ON CONFLICT (user_id, project_id, id) DO UPDATE SET state = excluded.state, \
         visible = excluded.visible, kind = excluded.kind, asset_id = excluded.asset_id, z = excluded.z",
        store.row_params(dirty.len(), 8, 0)
    );
    let mut q = sqlx::query(&sql);
    for id in dirty {
        let state = &states[id];
        let (kind, asset, z) = match Uuid::parse_str(id) {
            Ok(uuid) => {
                let el = state.to_element(uuid);
                let kind = serde_json::to_value(el.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned));
                (kind, el.asset_id, Some(el.z))
            }
            Err(_) => (None, None, None),
        };
        q = q
            .bind(user)
            .bind(pid)
            .bind(id.clone())
            .bind(serde_json::to_string(state).unwrap_or_default())
            .bind(i64::from(state.is_visible()))
            .bind(kind)
            .bind(asset)
            .bind(z);
    }
    q.execute(&mut **tx).await?;

    // Append the change log of this batch.
    let sql = format!(
        "INSERT INTO changes (user_id, project_id, seq, idx, client_id, change) VALUES {}",
        store.row_params(log.len(), 6, 0)
    );
    let mut q = sqlx::query(&sql);
    for (idx, entry) in log.iter().enumerate() {
        q = q
            .bind(user)
            .bind(pid)
            .bind(seq)
            .bind(idx as i64)
            .bind(client.to_string())
            .bind(serde_json::to_string(entry).unwrap_or_default());
    }
    q.execute(&mut **tx).await?;
    Ok(Batch::Written(effect))
}

/// Applies a batch's effect to the project's image/video counts, and recomputes the thumbnail
/// only when an image with an asset appeared, moved in z or went away.
async fn apply_counts(
    tx: &mut Transaction<'static, Any>,
    user: &str,
    pid: &str,
    effect: &CountEffect,
) -> Result<(), sqlx::Error> {
    if effect.images != 0 || effect.videos != 0 {
        sqlx::query(
            "UPDATE projects SET image_count = image_count + $1, video_count = video_count + $2 \
             WHERE user_id = $3 AND id = $4",
        )
        .bind(effect.images)
        .bind(effect.videos)
        .bind(user)
        .bind(pid)
        .execute(&mut **tx)
        .await?;
    }
    if effect.thumbnail {
        sqlx::query(
            "UPDATE projects SET thumbnail_asset_id = (SELECT asset_id FROM elements \
             WHERE user_id = $1 AND project_id = $2 AND visible = 1 AND kind = 'image' \
             AND asset_id IS NOT NULL ORDER BY z DESC, id DESC LIMIT 1) \
             WHERE user_id = $1 AND id = $2",
        )
        .bind(user)
        .bind(pid)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{CountEffect, CountKey};

    fn key(visible: bool, kind: &str, asset: Option<&str>, z: &str) -> CountKey {
        (
            visible,
            kind.to_owned(),
            asset.map(str::to_owned),
            z.to_owned(),
        )
    }

    #[test]
    fn count_effects_follow_visibility_kind_and_assets() {
        let mut e = CountEffect::default();
        e.add(None, Some(&key(true, "Image", None, "a0")));
        e.add(
            Some(&key(true, "Video", None, "a0")),
            Some(&key(false, "Video", None, "a0")),
        );
        assert_eq!((e.images, e.videos, e.thumbnail), (1, -1, false));

        let mut e = CountEffect::default();
        e.add(
            Some(&key(true, "Image", None, "a0")),
            Some(&key(true, "Video", None, "a0")),
        );
        assert_eq!((e.images, e.videos), (-1, 1));
        assert!(e.counts_changed());

        let mut moved = CountEffect::default();
        let pic = key(true, "Image", Some("ab"), "a0");
        moved.add(Some(&pic), Some(&key(true, "Image", Some("ab"), "a1")));
        assert_eq!(
            (moved.images, moved.thumbnail),
            (0, true),
            "z of a picture moves the thumbnail"
        );

        let mut same = CountEffect::default();
        same.add(Some(&pic), Some(&pic));
        assert!(
            !same.counts_changed(),
            "an x/y move changes nothing counted"
        );
    }
}
