import type { Queryable } from '../outbox/write.js';
import { eventsTable } from './identifiers.js';
import { DISCARDED_LIKE } from './discardDeadEvents.js';

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
  discarded: boolean;
}

/** Dead events in seq order (the order they were written), not discarded unless asked for. */
export async function selectDeadEvents(
  db: Queryable,
  schema: string,
  filter: { topics?: readonly string[] | undefined; limit: number; includeDiscarded: boolean },
): Promise<DeadEventRow[]> {
  const { rows } = await db.query(
    `SELECT seq, id::text AS id, topic, key, type, attempts, created_at, dead_at, last_error,
       coalesce(last_error LIKE $3, false) AS discarded
FROM ${eventsTable(schema)}
WHERE dead_at IS NOT NULL AND published_at IS NULL
  AND ($1::text[] IS NULL OR topic = ANY($1::text[]))
  AND ($4::boolean OR last_error IS NULL OR last_error NOT LIKE $3)
ORDER BY seq
LIMIT $2`,
    [filter.topics && filter.topics.length > 0 ? filter.topics : null, filter.limit, DISCARDED_LIKE, filter.includeDiscarded],
  );
  return rows as DeadEventRow[];
}
