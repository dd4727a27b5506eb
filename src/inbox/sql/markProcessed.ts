import type { ClientBase } from 'pg';
import { processedMessagesTable } from './table.js';

/**
 * Records (consumer, event_id) inside the caller's transaction. Returns false when the pair is already there.
 *
 * Under READ COMMITTED, a concurrent transaction that inserted the same pair and has not finished makes this statement
 * wait for it: if it commits, ON CONFLICT sees its row and this returns false; if it rolls back, this insert goes
 * through and returns true. Either way exactly one transaction holds the row when both are done.
 */
export async function markProcessed(tx: ClientBase, schema: string, consumer: string, eventId: string): Promise<boolean> {
  const result = await tx.query({
    text: `INSERT INTO ${processedMessagesTable(schema)} (consumer, event_id) VALUES ($1, $2)
ON CONFLICT (consumer, event_id) DO NOTHING`,
    values: [consumer, eventId],
  });
  return result.rowCount === 1;
}
