-- The account life cycle (S2): Clerk's webhooks keep users in step and delete them.

-- The user's name as Clerk has it, and the `updated_at` of the Clerk user object last applied
-- (an older event delivered late changes nothing).
ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN clerk_updated_at BIGINT;

-- Svix deliveries already processed, by `svix-id`: a repeat changes nothing.
CREATE TABLE clerk_webhooks (
    svix_id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX clerk_webhooks_by_time ON clerk_webhooks (received_at);

-- Deleted accounts. A row is written before anything is deleted and outlives the user (no
-- foreign key): it refuses the id's requests and drives the deletion, which any process resumes
-- after a crash. `phase`: deleting → settling (everything is gone; a last sweep is due at
-- `due_at`, for writes that were in flight) → done. A process works on a deletion while it
-- holds the lease (`lease_until` in the future).
CREATE TABLE user_deletions (
    user_id TEXT PRIMARY KEY NOT NULL,
    phase TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT
);
CREATE INDEX user_deletions_due ON user_deletions (phase, due_at);
