import type { Queryable } from '../outbox/write.js';
import { eventsTable } from './identifiers.js';

export interface DiscardOutcome {
  /** IDs now marked discarded. */
  discarded: string[];
  /** IDs that were already discarded (unchanged, their discarded_at kept). */
  alreadyDiscarded: string[];
}

/**
 * Marks the given dead events discarded (discarded_at, migration 000004): the rows stay dead — never published, never
 * retried by `--all`, never pruned, nothing silently deleted — and last_error keeps why Kafka refused them. IDs that
 * are not dead events appear in neither list.
 */
export async function discardDeadEvents(db: Queryable, schema: string, ids: readonly string[]): Promise<DiscardOutcome> {
  const table = eventsTable(schema);
  const { rows } = await db.query(
    `WITH target AS (
  SELECT seq, id, discarded_at IS NOT NULL AS already FROM ${table}
  WHERE id = ANY($1::uuid[]) AND dead_at IS NOT NULL AND published_at IS NULL
  FOR UPDATE
), updated AS (
  UPDATE ${table} AS e SET discarded_at = clock_timestamp()
  FROM target t WHERE e.seq = t.seq AND NOT t.already
  RETURNING e.id
)
SELECT id::text AS id, already FROM target`,
    [ids],
  );
  const all = rows as { id: string; already: boolean }[];
  return { discarded: all.filter((r) => !r.already).map((r) => r.id), alreadyDiscarded: all.filter((r) => r.already).map((r) => r.id) };
}
