-- Multipart uploads in progress (and finished ones, until their TTL, so that a repeated
-- complete answers the same result). Runs on SQLite and PostgreSQL alike.
CREATE TABLE IF NOT EXISTS uploads (
    id           TEXT    NOT NULL PRIMARY KEY,
    app_id       TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    part_size    BIGINT  NOT NULL,
    part_count   BIGINT  NOT NULL,
    content_type TEXT    NOT NULL,
    overwrite    BOOLEAN NOT NULL,
    checksum     TEXT    NOT NULL,   -- crc32c | sha256 | none
    created_ms   BIGINT  NOT NULL,
    expires_ms   BIGINT  NOT NULL,
    result       TEXT                -- JSON of the complete answer, once completed
);

CREATE INDEX IF NOT EXISTS uploads_by_expiry ON uploads (expires_ms);

CREATE TABLE IF NOT EXISTS upload_parts (
    upload_id   TEXT   NOT NULL,
    part_number BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    etag        TEXT   NOT NULL,
    crc32c      BIGINT NOT NULL,
    checksum    TEXT,                -- base64 digest in the upload's algorithm
    PRIMARY KEY (upload_id, part_number)
);
