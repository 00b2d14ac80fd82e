-- Most entries are not children (source_id 0), and no query looks those up
-- by source: the index of entries by source holds children only, so
-- writing a top-level entry updates one index fewer. Queries by source add
-- "source_id <> 0" to use it.
DROP INDEX events_source;
CREATE INDEX events_source ON events (source_id, id) WHERE source_id <> 0;
