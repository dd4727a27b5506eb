-- processed_messages: the consumer-side inbox. processOnce inserts (consumer, event_id) in the same transaction as the
-- consumer's own writes, so an event's effects and the record that it was applied commit or roll back together.
-- Runs with search_path set to the configured schema, so names here are unqualified.

CREATE TABLE processed_messages (
  -- Each consumer (application + purpose) de-duplicates on its own: two services may both apply the same event once.
  consumer     text        NOT NULL,
  -- The outbox event ID (Kafka header outbox-event-id).
  event_id     uuid        NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  -- The de-duplication itself: a second insert of the same pair waits for the first transaction, then conflicts.
  PRIMARY KEY (consumer, event_id)
);

-- Retention (inbox prune) deletes the oldest rows in bounded batches.
CREATE INDEX processed_messages_processed_at_idx ON processed_messages (processed_at);
