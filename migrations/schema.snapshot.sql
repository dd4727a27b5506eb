CREATE SCHEMA outbox;

CREATE FUNCTION outbox.outbox_events_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  IF coalesce(current_setting('outbox.notify', true), '') <> 'off' THEN
    PERFORM pg_notify('outbox_events', TG_TABLE_SCHEMA);
  END IF;
  RETURN NULL;
END;
$$;

CREATE TABLE outbox.outbox_events (
    seq bigint NOT NULL,
    id uuid NOT NULL,
    topic text NOT NULL,
    key text,
    type text,
    aggregate_type text,
    aggregate_id text,
    payload bytea NOT NULL,
    headers jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    published_at timestamp with time zone,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    next_attempt_at timestamp with time zone,
    dead_at timestamp with time zone,
    discarded_at timestamp with time zone
);

ALTER TABLE outbox.outbox_events ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME outbox.outbox_events_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE outbox.outbox_migrations (
    name text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE outbox.processed_messages (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    processed_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY outbox.outbox_events
    ADD CONSTRAINT outbox_events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY outbox.outbox_migrations
    ADD CONSTRAINT outbox_migrations_pkey PRIMARY KEY (name);

ALTER TABLE ONLY outbox.processed_messages
    ADD CONSTRAINT processed_messages_pkey PRIMARY KEY (consumer, event_id);

CREATE INDEX outbox_events_dead_idx ON outbox.outbox_events USING btree (seq) WHERE ((dead_at IS NOT NULL) AND (published_at IS NULL));

CREATE INDEX outbox_events_published_at_idx ON outbox.outbox_events USING btree (published_at) WHERE (published_at IS NOT NULL);

CREATE INDEX outbox_events_ready_idx ON outbox.outbox_events USING btree (seq) WHERE ((published_at IS NULL) AND (dead_at IS NULL) AND (next_attempt_at IS NULL));

CREATE INDEX outbox_events_retry_idx ON outbox.outbox_events USING btree (next_attempt_at) WHERE ((published_at IS NULL) AND (dead_at IS NULL) AND (next_attempt_at IS NOT NULL));

CREATE UNIQUE INDEX outbox_events_seq_idx ON outbox.outbox_events USING btree (seq);

CREATE INDEX processed_messages_processed_at_idx ON outbox.processed_messages USING btree (processed_at);

CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox.outbox_events FOR EACH STATEMENT EXECUTE FUNCTION outbox.outbox_events_notify();
