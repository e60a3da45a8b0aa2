-- One row per file or directory of an app. Written to run on SQLite and PostgreSQL alike.
-- Invariant: every row's parent is the root ('') or a row with is_dir = TRUE.
CREATE TABLE IF NOT EXISTS files (
    app_id       TEXT    NOT NULL,
    path         TEXT    NOT NULL,  -- canonical, no leading slash
    parent       TEXT    NOT NULL,  -- '' for entries in the root
    name         TEXT    NOT NULL,
    is_dir       BOOLEAN NOT NULL,
    blob_id      TEXT,              -- NULL for directories
    size         BIGINT  NOT NULL DEFAULT 0,
    content_type TEXT,
    etag         TEXT,
    created_ms   BIGINT  NOT NULL,
    updated_ms   BIGINT  NOT NULL,
    PRIMARY KEY (app_id, path)
);

CREATE INDEX IF NOT EXISTS files_by_parent ON files (app_id, parent, path);
CREATE INDEX IF NOT EXISTS files_by_blob ON files (blob_id);
