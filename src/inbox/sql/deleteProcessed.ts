import type { Queryable } from '../../outbox/write.js';
import { processedMessagesTable } from './table.js';

/**
 * Deletes at most `limit` rows processed more than `olderThanMs` ago (optionally of one consumer) and returns how
 * many went. Bounded so that one statement never holds locks on, or writes WAL for, millions of rows at once; the
 * inner SELECT walks processed_messages_processed_at_idx from the oldest row.
 *
 * The cutoff is the statement's own now(), so it moves forward by the time a multi-batch prune takes (seconds against
 * retention periods of days), which only lets a few more just-expired rows go.
 */
export async function deleteProcessed(
  db: Queryable,
  schema: string,
  options: { olderThanMs: number; limit: number; consumer?: string },
): Promise<number> {
  const table = processedMessagesTable(schema);
  const result = await db.query(
    `DELETE FROM ${table} WHERE (consumer, event_id) IN (
  SELECT consumer, event_id FROM ${table}
  WHERE processed_at < now() - $1::bigint * interval '1 millisecond' AND ($2::text IS NULL OR consumer = $2)
  ORDER BY processed_at
  LIMIT $3
)`,
    [options.olderThanMs, options.consumer ?? null, options.limit],
  );
  return result.rowCount ?? 0;
}
