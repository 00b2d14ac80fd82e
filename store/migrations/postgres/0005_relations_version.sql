-- relations_version counts the changes to the relation registry. Every
-- statement that adds, changes or removes relations moves it, in the statement's
-- transaction, on the head row. An append that read the registry outside
-- the head row's lock (see Store.Append) checks, when it takes the lock,
-- that neither the head nor this count has moved since; otherwise it
-- starts again under the lock.
ALTER TABLE log_head ADD COLUMN relations_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION eventlog_relations_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE log_head SET relations_version = relations_version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER relations_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON relations
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_relations_changed();
