import type { ClientBase } from 'pg';
import { eventsTable } from './identifiers.js';

/** One statement for the whole batch: `seq = ANY($1)` walks the unique seq index once per element. */
export async function markPublished(client: ClientBase, schema: string, seqs: readonly string[]): Promise<number> {
  if (seqs.length === 0) return 0;
  const result = await client.query({
    text: `UPDATE ${eventsTable(schema)}
SET published_at = clock_timestamp(), attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL
WHERE seq = ANY($1::bigint[])`,
    values: [seqs],
  });
  return result.rowCount ?? 0;
}
