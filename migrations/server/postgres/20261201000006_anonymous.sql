-- A first free generation before sign-in (S6). The job itself is an ordinary row of
-- `generations`, owned by the anonymous system owner; this row is its capability: the SHA-256 of
-- the token only the requester received (the token itself is never stored) and when the result
-- is removed. No client address is kept here or anywhere (the quota is counted in the limiter
-- under a salted hash of it).
CREATE TABLE anonymous_generations (
    generation_id TEXT PRIMARY KEY NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX anonymous_generations_token ON anonymous_generations (token_hash);
CREATE INDEX anonymous_generations_expiry ON anonymous_generations (expires_at);


-- Email addresses left to download a shared image (leads): lower-cased, one row per share and
-- address however often it is sent. Kept when the share is revoked (the lead was given).
CREATE TABLE leads (
    short_id TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (short_id, email)
);
CREATE INDEX leads_by_created ON leads (created_at);
