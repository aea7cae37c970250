-- Generation jobs (S7). `phase` is the worker's state: queued → submitting → submitted →
-- finishing → completed | failed | canceled. A worker owns a job while `lease_until` is in the
-- future; `due_at` is when a worker should next look at it. `request_id` and fal's URLs are
-- kept exactly as fal returned them.
CREATE TABLE generations (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt TEXT NOT NULL,
    params TEXT NOT NULL,
    image_asset_id TEXT,
    project_id TEXT,
    element_id TEXT,
    phase TEXT NOT NULL,
    request_id TEXT,
    status_url TEXT,
    response_url TEXT,
    cancel_url TEXT,
    fal_position BIGINT,
    submit_sent_at BIGINT,
    error_code TEXT,
    error_message TEXT,
    outputs TEXT,
    seed BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    due_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    completed_at BIGINT
);
CREATE INDEX generations_due ON generations (phase, due_at);
CREATE INDEX generations_queue ON generations (phase, created_at, id);
CREATE INDEX generations_by_user ON generations (user_id, created_at, id);
CREATE INDEX generations_user_phase ON generations (user_id, phase, created_at);
CREATE UNIQUE INDEX generations_request ON generations (request_id);

-- Webhooks from fal, keyed by the queue's request id: the first delivery is kept, repeats
-- change nothing. A webhook may arrive before its job has recorded the request id.
CREATE TABLE fal_inbox (
    request_id TEXT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- Concurrency slots a user's running generations hold.
ALTER TABLE users ADD COLUMN gen_running BIGINT NOT NULL DEFAULT 0;
-- Provenance of generated assets (JSON: generationId, prompt, model, seed).
ALTER TABLE assets ADD COLUMN generation TEXT;
