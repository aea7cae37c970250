-- API keys (S9). Only a SHA-256 of a key (`hash`, hex) and its first 8 characters (`prefix`)
-- are kept, never the key. `scopes` is a space-separated list. A revoked key keeps its row
-- (`revoked_at` set) so its usage stays reportable; lookups ignore it at once.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);
CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at);

-- Requests per key and UTC day (`YYYY-MM-DD`), counted by atomic upserts.
CREATE TABLE api_key_usage (
    key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, day)
);

-- The generations a key submitted, with the UTC day of submission; images and credits come
-- from the generation rows themselves.
CREATE TABLE api_key_jobs (
    generation_id TEXT PRIMARY KEY NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
    key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    day TEXT NOT NULL
);
CREATE INDEX api_key_jobs_by_key ON api_key_jobs (key_id, day);
