-- Wake idle relays when events commit, instead of waiting for the next poll.
--
-- A trigger rather than a NOTIFY inside writeWithOutbox: rows written by other tools (knex/drizzle/prisma with the
-- exported insert SQL, psql, a migration backfill) wake the relay too. FOR EACH STATEMENT: one notification per
-- INSERT statement, not per row, and PostgreSQL folds identical notifications of one transaction into one, delivered
-- only at COMMIT (a rolled-back transaction notifies nobody). The payload is the schema, so relays of other schemas
-- sharing the channel ignore it cheaply.
CREATE FUNCTION outbox_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_events', TG_TABLE_SCHEMA);
  RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_events_notify
  AFTER INSERT ON outbox_events
  FOR EACH STATEMENT
  EXECUTE FUNCTION outbox_events_notify();
