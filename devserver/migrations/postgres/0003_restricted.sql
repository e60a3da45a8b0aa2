-- The same index as SQLite's 0005_restricted.sql.
CREATE INDEX records_restricted ON records (app_id)
    WHERE visibility IS NOT NULL OR security_categories <> '[]';
