-- The whole schema on PostgreSQL: the same tables as SQLite's migrations end with. Paths,
-- names and ids order byte-wise (COLLATE "C") as on SQLite.
CREATE TABLE records (
    app_id              TEXT    NOT NULL,
    id                  BIGINT  NOT NULL,
    path                TEXT COLLATE "C",              -- canonical, no leading slash; NULL: reachable by id only
    parent              TEXT COLLATE "C",              -- canonical path of the directory holding `path`
    directory           TEXT COLLATE "C",              -- absolute, '/' for the root
    name                TEXT    COLLATE "C" NOT NULL,
    is_dir              BIGINT  NOT NULL DEFAULT 0,
    external_id         TEXT COLLATE "C",
    source              TEXT,
    mime_type           TEXT,
    metadata            TEXT    NOT NULL DEFAULT '{}',
    asset_ids           TEXT    NOT NULL DEFAULT '[]',
    data_set_id         BIGINT,
    security_categories TEXT    NOT NULL DEFAULT '[]',
    labels              TEXT    NOT NULL DEFAULT '[]',
    geo_location        TEXT,
    source_created_ms   BIGINT,
    source_modified_ms  BIGINT,
    category            TEXT,
    tags                TEXT    NOT NULL DEFAULT '[]',
    created_ms          BIGINT  NOT NULL,
    updated_ms          BIGINT  NOT NULL,
    blob_id             TEXT,              -- NULL until content is uploaded
    size                BIGINT  NOT NULL DEFAULT 0,
    etag                TEXT,
    uploaded_ms         BIGINT,
    PRIMARY KEY (app_id, id)
);



CREATE UNIQUE INDEX records_by_path ON records (app_id, path);
CREATE UNIQUE INDEX records_by_external_id ON records (app_id, external_id);
CREATE INDEX records_by_parent ON records (app_id, parent, path);
CREATE INDEX records_by_blob ON records (blob_id);
CREATE INDEX records_by_name ON records (app_id, name, id);
CREATE INDEX records_by_created ON records (app_id, created_ms, id);
CREATE INDEX records_by_size ON records (app_id, size, id);

-- One row per searchable value of a record: metadata pairs (m), asset ids (a), labels (l),
-- tags (t). Filters on them are EXISTS lookups on the first index.
CREATE TABLE record_terms (
    app_id    TEXT   NOT NULL,
    record_id BIGINT NOT NULL,
    kind      TEXT   NOT NULL,
    term_key  TEXT   NOT NULL,
    term      TEXT   NOT NULL
);
CREATE INDEX record_terms_lookup ON record_terms (app_id, kind, term_key, term, record_id);
CREATE INDEX record_terms_by_record ON record_terms (app_id, record_id);

-- Blobs no row names any more, removed once their removal is durable.
CREATE TABLE garbage (
    blob_id  TEXT   NOT NULL PRIMARY KEY,
    since_ms BIGINT NOT NULL
);

-- Facts about the catalog itself, e.g. the id of the data directory it belongs to.
CREATE TABLE catalog_info (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE uploads (
    id           TEXT    NOT NULL PRIMARY KEY,
    app_id       TEXT    NOT NULL,
    path         TEXT,
    record_id    BIGINT,
    size         BIGINT,
    part_size    BIGINT  NOT NULL,
    part_count   BIGINT  NOT NULL,
    content_type TEXT    NOT NULL,
    overwrite    BIGINT  NOT NULL,
    checksum     TEXT    NOT NULL,
    created_ms   BIGINT  NOT NULL,
    expires_ms   BIGINT  NOT NULL,
    result       TEXT                -- JSON of what the completion made
);
CREATE INDEX uploads_by_expiry ON uploads (expires_ms);

CREATE TABLE upload_parts (
    upload_id   TEXT   NOT NULL,
    part_number BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    etag        TEXT   NOT NULL,
    crc32c      BIGINT NOT NULL,
    checksum    TEXT,
    blob_id     TEXT   NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
CREATE INDEX upload_parts_by_blob ON upload_parts (blob_id);
