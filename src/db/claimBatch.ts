import type { ClientBase } from 'pg';
import { eventsTable } from './identifiers.js';

/** A claimed outbox row, as the relay needs it to build a Kafka message. */
export interface ClaimedEvent {
  seq: string;
  id: string;
  topic: string;
  key: string | null;
  type: string | null;
  aggregate_type: string | null;
  aggregate_id: string | null;
  payload: Buffer;
  headers: Record<string, string | { base64: string }>;
  created_at: Date;
  attempts: number;
}

/**
 * Locks up to `limit` pending events in claim order. SKIP LOCKED lets several relays claim disjoint batches
 * without waiting on each other; the locks last until the caller's transaction ends, which is what makes a crash
 * mid-publish safe: the rows simply become claimable again.
 *
 * The partial index outbox_events_pending_idx holds only pending rows, so this reads `limit` index entries
 * whatever the number of published rows retained.
 */
export function claimBatchSql(schema: string): string {
  return `SELECT seq, id, topic, key, type, aggregate_type, aggregate_id, payload, headers, created_at, attempts
FROM ${eventsTable(schema)}
WHERE published_at IS NULL AND dead_at IS NULL
  AND (next_attempt_at IS NULL OR next_attempt_at <= now())
ORDER BY seq
LIMIT $1
FOR UPDATE SKIP LOCKED`;
}

export async function claimBatch(client: ClientBase, schema: string, limit: number): Promise<ClaimedEvent[]> {
  const result = await client.query<ClaimedEvent>({ text: claimBatchSql(schema), values: [limit] });
  return result.rows;
}
