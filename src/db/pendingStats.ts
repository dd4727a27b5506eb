import type { Pool } from 'pg';
import { eventsTable } from './identifiers.js';

export interface PendingStats {
  /** Unpublished, not-dead events, counted up to the limit (a value equal to the limit means "at least"). */
  pending: number;
  /** Seconds since the oldest unpublished, not-dead event was written; 0 when there is none. */
  oldestAgeSeconds: number;
}

/**
 * Backlog and age of the oldest pending event, read from the two partial indexes that hold pending rows
 * (outbox_events_ready_idx, outbox_events_retry_idx), so the cost follows the backlog (capped), never the number of
 * published rows kept.
 *
 * Measured on PostgreSQL 15, 5,000,000 rows of which 1,000,000 pending, vacuumed (with the single pending index that
 * preceded the two; the plans are the same per index):
 *   capped count, limit 100,000   → Index Only Scan, 19 ms
 *   capped count, limit 1,000,000 → same plan, 172 ms (the LIMIT keeps it serial)
 *   oldest pending (ORDER BY seq LIMIT 1) → Index Scan, 0.03 ms
 *   for comparison, count(*) of the whole table → Parallel Seq Scan, 268 ms
 * Hence the default cap of 100,000 per index: ≈ 20 ms every 5 s however far behind the relay is.
 *
 * "Oldest" is by seq among ready events, which follows created_at except for transactions that commit out of order,
 * close enough for an age alert, and by created_at among backed-off ones (few, normally). An event stuck in backoff
 * keeps the age growing: that is wanted. created_at is the database's clock and so is clock_timestamp() here.
 */
export function pendingStatsSql(schema: string): string {
  const table = eventsTable(schema);
  const ready = 'published_at IS NULL AND dead_at IS NULL AND next_attempt_at IS NULL';
  const retrying = 'published_at IS NULL AND dead_at IS NULL AND next_attempt_at IS NOT NULL';
  return `SELECT
  (SELECT count(*) FROM (SELECT 1 FROM ${table} WHERE ${ready} LIMIT $1) AS capped)
    + (SELECT count(*) FROM (SELECT 1 FROM ${table} WHERE ${retrying} LIMIT $1) AS capped) AS pending,
  extract(epoch FROM clock_timestamp() - least(
    (SELECT created_at FROM ${table} WHERE ${ready} ORDER BY seq LIMIT 1),
    (SELECT min(created_at) FROM ${table} WHERE ${retrying}))) AS oldest_age_seconds`;
}

export async function pendingStats(pool: Pool, schema: string, limit = 100_000): Promise<PendingStats> {
  const { rows } = await pool.query<{ pending: string; oldest_age_seconds: string | null }>({
    text: pendingStatsSql(schema),
    values: [limit],
  });
  const row = rows[0];
  return {
    pending: Number(row?.pending ?? 0),
    oldestAgeSeconds: Math.max(0, Number(row?.oldest_age_seconds ?? 0)),
  };
}
