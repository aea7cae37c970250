//! Canvas state and sync: applying a batch of property changes under the project's row lock,
//! the change log behind cursors, and the materialised canvas.
//!
//! A push runs in one transaction that first bumps the project's `seq` (taking its row lock, so
//! pushes to one project commit in `seq` order on both backends), then records op ids (repeats
//! are skipped), merges with [`ObjectState`] and writes elements and change-log rows in bulk:
//! two [`Script`]s in a [`WriteTx`] whatever the batch's size — one round trip each to
//! SQLite's connection thread, the transaction's BEGIN and COMMIT riding with them — and,
//! when the pushing client is a few pushes behind, what others wrote since its cursor is read
//! in the same transaction. A batch that changes nothing is rolled back, so
//! repeating a push leaves state and cursor untouched.

use super::script::{Arg, Script, WriteTx};
use super::Store;
use iskra_protocol::merge::ObjectState;
use iskra_protocol::{Canvas, Change, ChangeAction, Target, Viewport, VIEWPORT_ID};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Most change-log rows one pull returns; the cursor then stops at the last whole batch.
pub const MAX_PULL_ROWS: i64 = 50_000;

/// A push reads what other clients wrote since its cursor inside its own transaction when
/// that is at most this many pushes (the common case: another device's edit or two); a
/// client further behind is answered from a reader after the commit, so a long pull never
/// holds the writer.
const PULL_IN_PUSH: i64 = 32;

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
            Pushed::Unchanged
        } else {
            match self
                .push_valid(user, &pid, client, Some(since), &valid)
                .await?
            {
                None => return Ok(None),
                Some(pushed) => pushed,
            }
        };
        let advanced = matches!(pushed, Pushed::Written { .. });
        let (cursor, changes) = match pushed {
            Pushed::Written {
                pulled: Some(pulled),
                ..
            } => pulled,
            Pushed::Written { seq, pulled: None } => {
                let since = if since > seq { 0 } else { since };
                self.changes_between(user, &pid, Some(client), since, seq)
                    .await?
            }
            Pushed::Unchanged => {
                let Some(seq) = self.project_seq(user, &pid).await? else {
                    return Ok(None);
                };
                let since = if since > seq { 0 } else { since };
                self.changes_between(user, &pid, Some(client), since, seq)
                    .await?
            }
        };
        Ok(Some(SyncOutcome {
            cursor,
            changes,
            rejected,
            advanced,
        }))
    }

    /// Applies checked changes in one transaction under the project's row lock: `None` when
    /// there is no such project. With `pull_since`, what other clients wrote after that
    /// cursor comes back too — read in the same transaction when it is a few pushes
    /// ([`PULL_IN_PUSH`]), after it otherwise.
    ///
    /// Two scripts ([`Script`]): the row lock, the op ids and the touched elements' states;
    /// then, after the merge, the elements, the change log, the counts and the pull.
    async fn push_valid(
        &self,
        user: &str,
        pid: &str,
        client: Uuid,
        pull_since: Option<i64>,
        valid: &[(&Change, Target, ChangeAction<'_>)],
    ) -> Result<Option<Pushed>, sqlx::Error> {
        let mut tx = WriteTx::begin(self).await?;
        let Some(head) = read_head(self, &mut tx, user, pid, valid).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let Some(merged) = merge(valid, &head) else {
            tx.rollback().await?;
            return Ok(Some(Pushed::Unchanged));
        };
        let seq = head.seq;
        let pull = pull_since
            .map(|since| if since > seq { 0 } else { since })
            .filter(|since| seq - since <= PULL_IN_PUSH);
        let mut script = Script::new(self);
        write_batch(self, &mut script, user, pid, client, seq, &merged);
        // Straight on from the client's cursor: nobody else wrote in between.
        if let Some(since) = pull.filter(|since| *since < seq - 1) {
            let p = self.params(0, 6);
            script.push(
                format!(
                    "SELECT seq, change FROM changes WHERE user_id = {} AND project_id = {} \
                     AND seq > {} AND seq < {} AND client_id <> {} ORDER BY seq, idx LIMIT {}",
                    p[0], p[1], p[2], p[3], p[4], p[5]
                ),
                vec![
                    user.into(),
                    pid.into(),
                    since.into(),
                    seq.into(),
                    client.to_string().into(),
                    (MAX_PULL_ROWS + 1).into(),
                ],
            );
        }
        let rows = tx.commit(script).await?;
        let pulled = match pull {
            None => None,
            Some(_) => {
                let rows = rows
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<Vec<(i64, String)>, sqlx::Error>>()?;
                Some(pulled_upto(rows, seq))
            }
        };
        Ok(Some(Pushed::Written { seq, pulled }))
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
        Ok(self
            .push_valid(user, &project.to_string(), client, None, &valid)
            .await?
            .map(|pushed| match pushed {
                Pushed::Written { seq, .. } => Some(seq),
                Pushed::Unchanged => None,
            }))
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
        Ok(pulled_upto(rows, upto))
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

/// Pulled change-log rows `(seq, change)` in order, cut to [`MAX_PULL_ROWS`] at a whole push:
/// the cursor they bring a client to (`upto` when none were cut) and the changes.
fn pulled_upto(mut rows: Vec<(i64, String)>, upto: i64) -> (i64, Vec<Change>) {
    let mut cursor = upto;
    if rows.len() as i64 > MAX_PULL_ROWS {
        cursor = rows[MAX_PULL_ROWS as usize].0 - 1;
        rows.retain(|(seq, _)| *seq <= cursor);
    }
    let changes = rows
        .iter()
        .filter_map(|(_, c)| serde_json::from_str(c).ok())
        .collect();
    (cursor, changes)
}

/// What a push did to the canvas.
enum Pushed {
    /// Every change was a repeat or lost to a later clock: nothing written.
    Unchanged,
    /// The push is the change-log batch `seq`; `pulled` holds the cursor and the other
    /// clients' changes when they were read in its transaction.
    Written {
        seq: i64,
        pulled: Option<(i64, Vec<Change>)>,
    },
}

/// What a push reads under the project's row lock before merging.
struct Head {
    /// The push's change-log batch (the project's new `seq`).
    seq: i64,
    /// Op ids not seen before.
    fresh: HashSet<String>,
    /// Stored state of the touched elements that exist.
    states: HashMap<String, ObjectState>,
}

/// Takes the project's row lock (bumping its `seq`), records the op ids (`RETURNING` names
/// only the new ones, so repeats are skipped atomically) and reads the state of every element
/// the changes touch: one script. `None` when there is no such project.
async fn read_head(
    store: &Store,
    tx: &mut WriteTx,
    user: &str,
    pid: &str,
    valid: &[(&Change, Target, ChangeAction<'_>)],
) -> Result<Option<Head>, sqlx::Error> {
    let mut script = Script::new(store);
    let p = store.params(0, 3);
    script.push(
        format!(
            "UPDATE projects SET seq = seq + 1, updated_at = {} WHERE user_id = {} AND id = {} \
             RETURNING 's', CAST(seq AS TEXT), CAST(NULL AS TEXT)",
            p[0], p[1], p[2]
        ),
        vec![super::now_ms().into(), user.into(), pid.into()],
    );
    let mut ids: Vec<String> = valid.iter().map(|(c, ..)| c.op_id.to_string()).collect();
    ids.sort();
    ids.dedup();
    let mut args = Vec::with_capacity(ids.len() * 2);
    for id in ids {
        args.extend([user.into(), Arg::Text(id)]);
    }
    script.push(
        format!(
            "INSERT INTO ops (user_id, op_id) VALUES {} ON CONFLICT (user_id, op_id) DO NOTHING \
             RETURNING 'o', op_id, CAST(NULL AS TEXT)",
            store.row_params(args.len() / 2, 2, 0)
        ),
        args,
    );
    let mut keys: Vec<&str> = valid.iter().map(|(c, ..)| c.element_id.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let p = store.params(0, 2);
    let mut args: Vec<Arg> = vec![user.into(), pid.into()];
    args.extend(keys.iter().map(|k| Arg::from(*k)));
    script.push(
        format!(
            "SELECT 'e', id, state FROM elements WHERE user_id = {} AND project_id = {} \
             AND id IN ({})",
            p[0],
            p[1],
            store.params(2, keys.len()).join(", ")
        ),
        args,
    );
    let mut seq = None;
    let mut fresh = HashSet::new();
    let mut states = HashMap::new();
    for row in tx.run(script).await? {
        let (tag, a, b): (String, String, Option<String>) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        match tag.as_str() {
            "s" => {
                seq = Some(
                    a.parse::<i64>()
                        .map_err(|e| sqlx::Error::Decode(e.into()))?,
                )
            }
            "o" => {
                fresh.insert(a);
            }
            "e" => {
                let state = b.and_then(|s| serde_json::from_str(&s).ok());
                states.insert(a, state.unwrap_or_default());
            }
            other => {
                return Err(sqlx::Error::Protocol(format!(
                    "push head: a row tagged {other:?}"
                )))
            }
        }
    }
    Ok(seq.map(|seq| Head { seq, fresh, states }))
}

/// What the merge of a push decided: the elements to write and the change-log entries.
struct Merged {
    /// Every element that changed, with its merged state, by id.
    elements: Vec<(String, ObjectState)>,
    /// What won, as the change-log entries of the batch.
    log: Vec<Change>,
    /// The batch's effect on the project's counts and thumbnail.
    effect: CountEffect,
}

/// Merges the fresh changes into the elements' states; `None` when nothing changed (every
/// change a repeat or lost to a later clock).
fn merge(valid: &[(&Change, Target, ChangeAction<'_>)], head: &Head) -> Option<Merged> {
    let mut seen = HashSet::new();
    let mut states: HashMap<&str, ObjectState> = HashMap::new();
    let mut log = Vec::new();
    let mut order = Vec::new();
    for (change, _target, action) in valid {
        if !head.fresh.contains(&change.op_id.to_string()) || !seen.insert(change.op_id) {
            continue;
        }
        let id = change.element_id.as_str();
        let state = states
            .entry(id)
            .or_insert_with(|| head.states.get(id).cloned().unwrap_or_default());
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
            order.push(id);
            log.push(entry);
        }
    }
    if log.is_empty() {
        return None;
    }
    order.sort_unstable();
    order.dedup();
    let mut effect = CountEffect::default();
    let elements = order
        .into_iter()
        .map(|id| {
            let state = states.remove(id).unwrap_or_default();
            let was = head.states.get(id).and_then(|s| count_key(id, s));
            effect.add(was.as_ref(), count_key(id, &state).as_ref());
            (id.to_owned(), state)
        })
        .collect();
    Some(Merged {
        elements,
        log,
        effect,
    })
}

/// Adds to `script` the writes of a merged batch: the changed elements, the change log and,
/// when they moved, the project's image/video counts and thumbnail (recomputed only when an
/// image with an asset appeared, moved in z or went away).
fn write_batch(
    store: &Store,
    script: &mut Script,
    user: &str,
    pid: &str,
    client: Uuid,
    seq: i64,
    merged: &Merged,
) {
    let mut args = Vec::with_capacity(merged.elements.len() * 8);
    for (id, state) in &merged.elements {
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
        args.extend([
            user.into(),
            pid.into(),
            id.clone().into(),
            serde_json::to_string(state).unwrap_or_default().into(),
            i64::from(state.is_visible()).into(),
            kind.into(),
            asset.into(),
            z.into(),
        ]);
    }
    script.push(
        format!(
            "INSERT INTO elements (user_id, project_id, id, state, visible, kind, asset_id, z) \
             VALUES {} ON CONFLICT (user_id, project_id, id) DO UPDATE SET state = excluded.state, \
             visible = excluded.visible, kind = excluded.kind, asset_id = excluded.asset_id, \
             z = excluded.z",
            store.row_params(merged.elements.len(), 8, 0)
        ),
        args,
    );

    let client = client.to_string();
    let mut args = Vec::with_capacity(merged.log.len() * 6);
    for (idx, entry) in merged.log.iter().enumerate() {
        args.extend([
            user.into(),
            pid.into(),
            seq.into(),
            (idx as i64).into(),
            client.clone().into(),
            serde_json::to_string(entry).unwrap_or_default().into(),
        ]);
    }
    script.push(
        format!(
            "INSERT INTO changes (user_id, project_id, seq, idx, client_id, change) VALUES {}",
            store.row_params(merged.log.len(), 6, 0)
        ),
        args,
    );

    let effect = &merged.effect;
    if !effect.counts_changed() {
        return;
    }
    if effect.images != 0 || effect.videos != 0 {
        let p = store.params(0, 4);
        script.push(
            format!(
                "UPDATE projects SET image_count = image_count + {}, video_count = video_count + {} \
                 WHERE user_id = {} AND id = {}",
                p[0], p[1], p[2], p[3]
            ),
            vec![effect.images.into(), effect.videos.into(), user.into(), pid.into()],
        );
    }
    if effect.thumbnail {
        let p = store.params(0, 4);
        script.push(
            format!(
                "UPDATE projects SET thumbnail_asset_id = (SELECT asset_id FROM elements \
                 WHERE user_id = {} AND project_id = {} AND visible = 1 AND kind = 'image' \
                 AND asset_id IS NOT NULL ORDER BY z DESC, id DESC LIMIT 1) \
                 WHERE user_id = {} AND id = {}",
                p[0], p[1], p[2], p[3]
            ),
            vec![user.into(), pid.into(), user.into(), pid.into()],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{CountEffect, CountKey, PULL_IN_PUSH};
    use crate::store::tests::{change, user_with_project};
    use iskra_protocol::{Change, Clock};
    use uuid::Uuid;

    /// A push answers with what other clients wrote since its cursor: read inside its own
    /// transaction a few pushes behind, after it further behind — the same changes either way,
    /// never the pusher's own, and a repeat changes nothing and pulls the same.
    #[tokio::test]
    async fn a_push_pulls_what_others_wrote_near_or_far_behind() {
        let dir = tempfile::tempdir().unwrap();
        let (store, project) = user_with_project(dir.path()).await;
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (mut ca, mut cb) = (Clock::new("a"), Clock::new("b"));
        let el = Uuid::new_v4();

        for behind in [1, 2, PULL_IN_PUSH - 1, PULL_IN_PUSH + 5] {
            let mine = change(&mut ca, el, 0);
            let start = store
                .sync_project("u", project, a, 0, std::slice::from_ref(&mine))
                .await
                .unwrap()
                .unwrap()
                .cursor;
            let theirs: Vec<Change> = (1..=behind)
                .map(|x| change(&mut cb, Uuid::new_v4(), x as usize))
                .collect();
            for c in &theirs {
                store
                    .sync_project("u", project, b, 0, std::slice::from_ref(c))
                    .await
                    .unwrap();
            }
            let next = change(&mut ca, el, 1);
            let out = store
                .sync_project("u", project, a, start, std::slice::from_ref(&next))
                .await
                .unwrap()
                .unwrap();
            assert!(out.advanced);
            assert_eq!(out.cursor, start + behind + 1, "{behind} behind");
            assert_eq!(
                out.changes, theirs,
                "{behind} behind: exactly the others' changes"
            );

            let again = store
                .sync_project("u", project, a, start, &[next])
                .await
                .unwrap()
                .unwrap();
            assert!(!again.advanced, "a repeat writes nothing");
            assert_eq!((again.cursor, again.changes), (out.cursor, theirs));
        }
    }

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
