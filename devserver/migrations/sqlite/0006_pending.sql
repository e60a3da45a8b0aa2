-- Blobs written to a store that cannot list them (an object store shared by many servers) and
-- not yet named by a row: the collector removes the ones still unnamed after --pending-ttl.
CREATE TABLE pending_blobs (
    blob_id TEXT PRIMARY KEY NOT NULL,
    since_ms INTEGER NOT NULL
);
CREATE INDEX pending_blobs_since ON pending_blobs (since_ms);

-- A multipart upload sent straight to the object store (--direct-to-store): the blob its
-- object becomes and the store's own upload id.
ALTER TABLE uploads ADD COLUMN store_blob TEXT;
ALTER TABLE uploads ADD COLUMN store_upload TEXT;
