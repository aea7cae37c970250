-- Sharing (S10): one public link per shared asset, at `/t/{short_id}`.
-- The row goes with its asset (and so with its owner): a deleted asset or user leaves no link.
-- `views` and `downloads` are changed only by single-statement increments (exact under
-- concurrency). The link-preview rendition (`og_*`) is made once and stored beside the asset;
-- `og_key` NULL with `og_mime` set means the neutral placeholder (a video without a poster).
CREATE TABLE shares (
    short_id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    views BIGINT NOT NULL DEFAULT 0,
    downloads BIGINT NOT NULL DEFAULT 0,
    og_key TEXT,
    og_mime TEXT,
    og_width BIGINT,
    og_height BIGINT,
    FOREIGN KEY (user_id, sha256) REFERENCES assets(user_id, sha256) ON DELETE CASCADE
);
CREATE UNIQUE INDEX shares_by_asset ON shares (user_id, sha256);
CREATE INDEX shares_by_created ON shares (user_id, created_at, short_id);
