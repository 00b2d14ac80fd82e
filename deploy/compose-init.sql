-- Run by the postgres image when it creates the database (compose.yaml):
-- the role the eventlog servers connect as. "eventlog grant", run by the
-- migrate service as the database's owner, gives it exactly what the
-- service needs: it may read the log and append to it, and nothing more.
CREATE ROLE eventlog_app LOGIN PASSWORD 'eventlog_app';
