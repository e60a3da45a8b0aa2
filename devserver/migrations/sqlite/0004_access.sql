-- Access control: owners and visibility of records, users and their tokens, permission rules.
ALTER TABLE records ADD COLUMN owner_id TEXT;
ALTER TABLE records ADD COLUMN visibility TEXT;
ALTER TABLE records ADD COLUMN shared_with TEXT NOT NULL DEFAULT '[]';
ALTER TABLE records ADD COLUMN access_epoch INTEGER NOT NULL DEFAULT 0;

CREATE TABLE users (
    app_id        TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    email         TEXT    NOT NULL,    -- lower-case
    name          TEXT,
    password_hash TEXT    NOT NULL,    -- argon2id, PHC string
    roles         TEXT    NOT NULL DEFAULT '[]',
    created_ms    INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
);
CREATE UNIQUE INDEX users_by_email ON users (app_id, email);

-- Only the SHA-256 of a token is kept.
CREATE TABLE tokens (
    hash       TEXT    NOT NULL PRIMARY KEY,
    app_id     TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX tokens_by_user ON tokens (app_id, user_id);

-- Grants and denies on a record (a file or directory), or on the app root (record_id 0).
CREATE TABLE permissions (
    app_id       TEXT    NOT NULL,
    record_id    INTEGER NOT NULL,
    op           TEXT    NOT NULL,     -- READ, WRITE, DELETE
    subject_kind TEXT    NOT NULL,     -- user, role
    subject      TEXT    NOT NULL,     -- an id, a role name, or *
    allow        INTEGER NOT NULL,
    PRIMARY KEY (app_id, record_id, op, subject_kind, subject)
);

-- Who started a multipart upload (a principal tag: a, admin, u:{id}).
ALTER TABLE uploads ADD COLUMN principal TEXT NOT NULL DEFAULT 'admin';
