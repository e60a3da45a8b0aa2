-- Records whose visibility or security categories may hide them: an app with none (and no rules)
-- lists without a check per record.
CREATE INDEX records_restricted ON records (app_id)
    WHERE visibility IS NOT NULL OR security_categories <> '[]';
