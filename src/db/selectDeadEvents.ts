import type { Queryable } from '../outbox/write.js';
import { eventsTable } from './identifiers.js';

export interface DeadEventRow {
  seq: string;
  id: string;
  topic: string;
  key: string | null;
  type: string | null;
  attempts: number;
  created_at: Date;
  dead_at: Date;
  last_error: string | null;
  /** When an operator discarded it; null when not discarded. */
  discarded_at: Date | null;
}

/**
 * Dead events in seq order (the order they were written), not discarded unless asked for. The WHERE clause repeats
 * outbox_events_dead_idx's predicate, so this reads that index in seq order and stops at the limit (EXPLAIN on 1M
 * rows: Limit → Index Scan using outbox_events_dead_idx).
 */
export async function selectDeadEvents(
  db: Queryable,
  schema: string,
  filter: { topics?: readonly string[] | undefined; limit: number; includeDiscarded: boolean },
): Promise<DeadEventRow[]> {
  const { rows } = await db.query(
    `SELECT seq, id::text AS id, topic, key, type, attempts, created_at, dead_at, last_error, discarded_at
FROM ${eventsTable(schema)}
WHERE dead_at IS NOT NULL AND published_at IS NULL
  AND ($1::text[] IS NULL OR topic = ANY($1::text[]))
  AND ($3::boolean OR discarded_at IS NULL)
ORDER BY seq
LIMIT $2`,
    [filter.topics && filter.topics.length > 0 ? filter.topics : null, filter.limit, filter.includeDiscarded],
  );
  return rows as DeadEventRow[];
}
