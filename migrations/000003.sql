-- Wake idle relays when events commit, instead of waiting for the next poll.
--
-- A trigger rather than a NOTIFY inside writeWithOutbox: rows written by other tools (knex/drizzle/prisma with the
-- exported insert SQL, psql, a migration backfill) wake the relay too. FOR EACH STATEMENT: one notification per
-- INSERT statement, not per row, and PostgreSQL folds identical notifications of one transaction into one, delivered
-- only at COMMIT (a rolled-back transaction notifies nobody). The payload is the schema, so relays of other schemas
-- sharing the channel ignore it cheaply.
--
-- Cost: PostgreSQL serialises the commits of notifying transactions (a global lock from PreCommit_Notify until the
-- commit record is flushed), which caps writers at roughly one commit per WAL flush. Where the write rate matters
-- more than idle latency, switch it off for the writers (`ALTER ROLE app SET outbox.notify = off`, or per database or
-- session) and run the relay with a short --poll-interval instead; see the README's Performance section.
CREATE FUNCTION outbox_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('outbox.notify', true), '') <> 'off' THEN
    PERFORM pg_notify('outbox_events', TG_TABLE_SCHEMA);
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_events_notify
  AFTER INSERT ON outbox_events
  FOR EACH STATEMENT
  EXECUTE FUNCTION outbox_events_notify();
