-- Desktop store of the Iskra engine (rusqlite, WAL). One file per user data dir.
-- Times are RFC 3339 UTC text unless the column name ends in _ms (unix milliseconds).

-- Device settings: node id of the HLC, client id for sync, server url, last clock, ...
CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Projects on this device. Deletion is hard (rows go); the server learns it from the outbox.
CREATE TABLE projects (
    id          TEXT PRIMARY KEY NOT NULL,           -- uuid, chosen on the device
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    remote      INTEGER NOT NULL DEFAULT 0,          -- 1 once the server confirmed it exists
    name_clock  TEXT                                 -- HLC of the last local rename
);

-- Mergeable state of each element (iskra_protocol::merge::ObjectState as columns).
-- kind and visible are derived on every write so listings can count without parsing JSON.
CREATE TABLE elements (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    element_id  TEXT NOT NULL,
    props       TEXT NOT NULL,                       -- JSON object: property -> value
    clocks      TEXT NOT NULL,                       -- JSON object: property -> HLC
    deleted     TEXT,                                -- HLC of the latest deletion
    kind        TEXT,
    visible     INTEGER NOT NULL,
    PRIMARY KEY (project_id, element_id)
) WITHOUT ROWID;

-- Mergeable state of each project's viewport.
CREATE TABLE viewports (
    project_id  TEXT PRIMARY KEY NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    props       TEXT NOT NULL,
    clocks      TEXT NOT NULL
);

-- Every change applied to a canvas, local or remote, in apply order (wire Change JSON).
-- Rows up to a project's snapshot may be pruned.
CREATE TABLE journal (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    op_id       TEXT NOT NULL,
    origin      TEXT NOT NULL CHECK (origin IN ('local', 'remote')),
    change      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX journal_project ON journal(project_id, seq);
CREATE UNIQUE INDEX journal_op ON journal(project_id, op_id);

-- Latest compacted snapshot of each project: the materialised canvas JSON.
CREATE TABLE snapshots (
    project_id  TEXT PRIMARY KEY NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    journal_seq INTEGER NOT NULL,                    -- last journal row it includes
    canvas      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Local asset cache, content-addressed.
CREATE TABLE assets (
    sha256       TEXT PRIMARY KEY NOT NULL,
    path         TEXT NOT NULL,                      -- relative to the data dir
    mime         TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    width        INTEGER,
    height       INTEGER,
    duration_ms  INTEGER,
    created_at   TEXT NOT NULL,
    uploaded     INTEGER NOT NULL DEFAULT 0
);

-- Durable queue of everything the server must learn, flushed in seq order per lane.
CREATE TABLE outbox (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id            TEXT NOT NULL UNIQUE,
    project_id       TEXT,                           -- no FK: a delete outlives its project
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'in_flight', 'rejected')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,                           -- JSON error body or client error
    created_at       TEXT NOT NULL
);
CREATE INDEX outbox_state ON outbox(state, seq);

-- Pull cursor of each project.
CREATE TABLE sync_cursors (
    project_id   TEXT PRIMARY KEY NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    cursor       TEXT NOT NULL,
    synced_at    TEXT NOT NULL
);
