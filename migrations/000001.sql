-- outbox_events: one row per event, written in the application's transaction, published by the relay.
-- Runs with search_path set to the configured schema, so names here are unqualified.

CREATE TABLE outbox_events (
  -- Claim order. An identity column is monotonic in allocation order; rows may commit out of that order, which only
  -- means a later-committed row with a smaller seq is claimed on the next poll, never skipped.
  seq             bigint GENERATED ALWAYS AS IDENTITY,
  -- Stable event identity from writer to Kafka (message key by default, and the outbox-event-id header).
  id              uuid        NOT NULL PRIMARY KEY,
  topic           text        NOT NULL,
  -- Kafka message key; NULL means "use the event id".
  key             text,
  type            text,
  aggregate_type  text,
  aggregate_id    text,
  -- Exactly the bytes sent as the Kafka message value (JSON text for JSON payloads).
  payload         bytea       NOT NULL,
  -- {"name": "string value"} or {"name": {"base64": "..."}} for binary header values.
  headers         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  published_at    timestamptz,
  attempts        integer     NOT NULL DEFAULT 0,
  last_error      text,
  -- NULL: ready now. Set after a failed attempt to back off this event alone.
  next_attempt_at timestamptz,
  -- Set when the event is given up on; it then leaves the claim index and waits for an operator.
  dead_at         timestamptz
);

-- The claim reads ready events in seq order from this index. It holds only pending rows that are not backed off, so
-- its size tracks the backlog: not the published rows kept for replay, and not events waiting out a backoff, which a
-- claim would otherwise step over every time (100,000 backed-off rows at the head: 11.6 ms per claim instead of 0.5).
CREATE INDEX outbox_events_ready_idx ON outbox_events (seq)
  WHERE published_at IS NULL AND dead_at IS NULL AND next_attempt_at IS NULL;

-- Events backed off after Kafka refused them, by when they may go again: the claim takes the due ones from here.
CREATE INDEX outbox_events_retry_idx ON outbox_events (next_attempt_at)
  WHERE published_at IS NULL AND dead_at IS NULL AND next_attempt_at IS NOT NULL;

-- Replay and retention walk published rows by time.
CREATE INDEX outbox_events_published_at_idx ON outbox_events (published_at)
  WHERE published_at IS NOT NULL;

CREATE UNIQUE INDEX outbox_events_seq_idx ON outbox_events (seq);
