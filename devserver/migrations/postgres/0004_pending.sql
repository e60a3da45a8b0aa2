-- The same table as SQLite's 0006_pending.sql.
CREATE TABLE pending_blobs (
    blob_id TEXT PRIMARY KEY NOT NULL,
    since_ms BIGINT NOT NULL
);
CREATE INDEX pending_blobs_since ON pending_blobs (since_ms);

-- The same columns as SQLite's 0006_pending.sql.
ALTER TABLE uploads ADD COLUMN store_blob TEXT;
ALTER TABLE uploads ADD COLUMN store_upload TEXT;
