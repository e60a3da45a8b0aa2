-- Access control: the same tables and columns as SQLite's 0004_access.sql.
ALTER TABLE records ADD COLUMN owner_id TEXT;
ALTER TABLE records ADD COLUMN visibility TEXT;
ALTER TABLE records ADD COLUMN shared_with TEXT NOT NULL DEFAULT '[]';
ALTER TABLE records ADD COLUMN access_epoch BIGINT NOT NULL DEFAULT 0;

CREATE TABLE users (
    app_id        TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    email         TEXT   COLLATE "C" NOT NULL,
    name          TEXT,
    password_hash TEXT   NOT NULL,
    roles         TEXT   NOT NULL DEFAULT '[]',
    created_ms    BIGINT NOT NULL,
    PRIMARY KEY (app_id, id)
);
CREATE UNIQUE INDEX users_by_email ON users (app_id, email);

CREATE TABLE tokens (
    hash       TEXT   NOT NULL PRIMARY KEY,
    app_id     TEXT   NOT NULL,
    user_id    TEXT   NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX tokens_by_user ON tokens (app_id, user_id);

CREATE TABLE permissions (
    app_id       TEXT   NOT NULL,
    record_id    BIGINT NOT NULL,
    op           TEXT   NOT NULL,
    subject_kind TEXT   NOT NULL,
    subject      TEXT   NOT NULL,
    allow        BIGINT NOT NULL,
    PRIMARY KEY (app_id, record_id, op, subject_kind, subject)
);

ALTER TABLE uploads ADD COLUMN principal TEXT NOT NULL DEFAULT 'admin';
