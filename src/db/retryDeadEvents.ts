import type { Queryable } from '../outbox/write.js';
import { eventsTable } from './identifiers.js';

export type RetrySelection =
  /** These dead events, discarded or not (retrying by ID is how an operator takes a discard back). */
  | { ids: readonly string[] }
  /** All dead events not discarded, optionally of some topics, at most `limit` (lowest seq first). */
  | { all: true; topics?: readonly string[] | undefined; limit: number };

/**
 * Puts dead events back in the queue: dead_at, discarded_at, next_attempt_at NULL and attempts 0, so they re-enter
 * the pending index and get the full maxAttempts again. last_error is kept so the operator still sees why the event
 * died until the relay publishes it, which clears it. Returns the IDs requeued, in seq order.
 *
 * The inner SELECT repeats outbox_events_dead_idx's predicate, so it walks that index in seq order (EXPLAIN on 1M
 * rows: Index Scan using outbox_events_dead_idx), not the table.
 */
export async function retryDeadEvents(db: Queryable, schema: string, selection: RetrySelection): Promise<string[]> {
  const table = eventsTable(schema);
  const byIds = 'ids' in selection;
  const { rows } = await db.query(
    `UPDATE ${table} AS e
SET dead_at = NULL, discarded_at = NULL, attempts = 0, next_attempt_at = NULL
WHERE e.seq IN (
  SELECT seq FROM ${table}
  WHERE dead_at IS NOT NULL AND published_at IS NULL
    AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))
    AND ($2::boolean OR discarded_at IS NULL)
    AND ($3::text[] IS NULL OR topic = ANY($3::text[]))
  ORDER BY seq
  LIMIT $4
  FOR UPDATE SKIP LOCKED
)
RETURNING e.id::text AS id, e.seq`,
    [
      byIds ? selection.ids : null,
      byIds,
      !byIds && selection.topics && selection.topics.length > 0 ? selection.topics : null,
      byIds ? selection.ids.length : selection.limit,
    ],
  );
  return (rows as { id: string; seq: string }[]).sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1)).map((r) => r.id);
}
