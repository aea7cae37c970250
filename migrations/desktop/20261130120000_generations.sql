-- AI generations requested on (or learnt by) this device (D7). A row is created with its
-- placeholder element and the outbox operation that submits it, in one transaction; `op_id`
-- is that operation's id and the request's Idempotency-Key. `id` is the local id, stable: the
-- first submit's op id, or the server id for a generation another device requested. A retry
-- is a new request (new `op_id`) in the same row; the ids the server gave earlier attempts
-- are kept in `former_server_ids` so their late updates are recognised and ignored.
-- `status` adds `waiting` (still in the outbox) to the server's statuses.
-- `rev` rises on every write (the largest so far + 1), so readers can ask for what changed.
CREATE TABLE generations (
    id              TEXT PRIMARY KEY NOT NULL,
    op_id           TEXT UNIQUE,                     -- the submit operation (Idempotency-Key)
    server_id       TEXT UNIQUE,                     -- set once the server accepted it
    project_id      TEXT NOT NULL,                   -- no FK: learnt rows may name other projects
    element_id      TEXT NOT NULL,                   -- the placeholder
    kind            TEXT NOT NULL,
    prompt          TEXT NOT NULL,
    model           TEXT NOT NULL,                   -- requested (or expected default) until accepted
    params          TEXT NOT NULL,                   -- JSON GenerationParams (the server's once known)
    request         TEXT NOT NULL,                   -- JSON NewGeneration as submitted
    status          TEXT NOT NULL
                    CHECK (status IN ('waiting', 'queued', 'running', 'completed', 'failed',
                                      'canceled')),
    queue_position  INTEGER,
    error           TEXT,                            -- JSON GenerationFailure
    outputs         TEXT NOT NULL DEFAULT '[]',      -- JSON array of output assets (wire Asset)
    former_server_ids TEXT NOT NULL DEFAULT '[]',    -- JSON array: ids of earlier attempts
    created_at      TEXT NOT NULL,
    rev             INTEGER NOT NULL
);
CREATE INDEX generations_rev ON generations(rev);
CREATE INDEX generations_project ON generations(project_id, created_at);
