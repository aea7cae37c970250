-- Iskra sync server schema (PostgreSQL). Times are Unix milliseconds; booleans are 0/1.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT,
    tier TEXT NOT NULL DEFAULT 'free',
    created_at BIGINT NOT NULL,
    used_bytes BIGINT NOT NULL DEFAULT 0,
    image_count BIGINT NOT NULL DEFAULT 0,
    video_count BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE projects (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    seq BIGINT NOT NULL DEFAULT 0,
    image_count BIGINT NOT NULL DEFAULT 0,
    video_count BIGINT NOT NULL DEFAULT 0,
    thumbnail_asset_id TEXT,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX projects_by_updated ON projects (user_id, updated_at, id);
CREATE INDEX projects_by_name ON projects (user_id, name, id);

CREATE TABLE elements (
    user_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    id TEXT NOT NULL,
    state TEXT NOT NULL,
    visible BIGINT NOT NULL,
    kind TEXT,
    asset_id TEXT,
    z TEXT,
    PRIMARY KEY (user_id, project_id, id),
    FOREIGN KEY (user_id, project_id) REFERENCES projects(user_id, id) ON DELETE CASCADE
);

CREATE TABLE changes (
    user_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    change TEXT NOT NULL,
    PRIMARY KEY (user_id, project_id, seq, idx),
    FOREIGN KEY (user_id, project_id) REFERENCES projects(user_id, id) ON DELETE CASCADE
);

CREATE TABLE ops (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    op_id TEXT NOT NULL,
    PRIMARY KEY (user_id, op_id)
);

CREATE TABLE assets (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    asset_type TEXT NOT NULL,
    mime TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    duration_ms BIGINT,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, sha256)
);
CREATE INDEX assets_by_created ON assets (user_id, created_at, sha256);
CREATE INDEX assets_by_size ON assets (user_id, size_bytes, sha256);

CREATE TABLE idempotency (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status BIGINT,
    body TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
