import type { Queryable } from '../outbox/write.js';
import { eventsTable } from './identifiers.js';

/**
 * How a discarded dead letter is marked while the table has no column for it: the row stays dead (never published,
 * never retried, never pruned by age — nothing is silently deleted) and its last_error is prefixed with
 * `discarded at <UTC time>: `, the original error kept after it. The relay's own errors never start with
 * "discarded" (they are `<KAFKA_ERROR_TYPE>: …`). If a `discarded_at` column is added later, this file and the
 * LIKE below are the only places to change.
 */
export const DISCARDED_PREFIX = 'discarded at ';
export const DISCARDED_LIKE = `${DISCARDED_PREFIX}%`;
/** Strips the marker again (used by retry). */
export const DISCARDED_MARKER_RE = '^discarded at [^ ]+: ';

export interface DiscardOutcome {
  /** IDs now marked discarded. */
  discarded: string[];
  /** IDs that were already discarded (unchanged). */
  alreadyDiscarded: string[];
}

/** Marks the given dead events discarded. IDs that are not dead events appear in neither list. */
export async function discardDeadEvents(db: Queryable, schema: string, ids: readonly string[]): Promise<DiscardOutcome> {
  const table = eventsTable(schema);
  const { rows } = await db.query(
    `WITH target AS (
  SELECT seq, id, coalesce(last_error LIKE $2, false) AS already FROM ${table}
  WHERE id = ANY($1::uuid[]) AND dead_at IS NOT NULL AND published_at IS NULL
  FOR UPDATE
), updated AS (
  UPDATE ${table} AS e
  SET last_error = $3 || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ': ' || coalesce(e.last_error, '')
  FROM target t WHERE e.seq = t.seq AND NOT t.already
  RETURNING e.id
)
SELECT id::text AS id, already FROM target`,
    [ids, DISCARDED_LIKE, DISCARDED_PREFIX],
  );
  const all = rows as { id: string; already: boolean }[];
  return { discarded: all.filter((r) => !r.already).map((r) => r.id), alreadyDiscarded: all.filter((r) => r.already).map((r) => r.id) };
}
