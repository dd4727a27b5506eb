import type { Queryable } from '../outbox/write.js';
import { eventsTable } from './identifiers.js';

export interface RetentionGap {
  /** seq values absent just before the first retained published row created at or after `since`. */
  missingSeqs: number;
  /** The first absent seq and the first retained one after the gap. */
  fromSeq: string;
  toSeq: string;
  /** created_at of the first retained published row at or after `since`, if any is retained. */
  firstRetainedAt: Date | null;
  /** The earliest published_at retained: every pruned row was created before it. */
  oldestPublishedAt: Date | null;
}

/**
 * Has retention (or anything else) deleted rows that a window starting at `since` would have covered?
 *
 * No table records prunes, so this reads the evidence the identity column leaves: seq values are handed out
 * 1, 2, 3 … and only a DELETE, a rolled-back insert or a crash (PostgreSQL pre-logs 32 sequence values) leaves a
 * seq absent. Take s0 = the first published row created at or after `since` (or, when none is retained, the next
 * seq to be handed out) and r = the highest retained seq below s0 (any state; 0 when none). r was created before
 * `since`, s0 after it; if seqs r+1 … s0-1 are absent, rows from the window's start may be gone.
 * A bound removes most false alarms from rolled-back inserts: retention deletes only rows published before its
 * cutoff, so every pruned row was created before P = the earliest published_at still retained. When `since` >= P,
 * no pruned row can belong to the window, whatever seqs are absent.
 * Known limits: a rollback at the boundary of a window starting before P still gives a false "may"; a row
 * published late (kept while its neighbours were pruned) can hide a gap inside the window; a DELETE by hand that
 * ignores published_at breaks the P bound.
 */
export async function selectRetentionGap(db: Queryable, schema: string, since: Date): Promise<RetentionGap | null> {
  const table = eventsTable(schema);
  const { rows } = await db.query(
    `WITH oldest AS (
  SELECT min(published_at) AS published_at FROM ${table} WHERE published_at IS NOT NULL
), first_in_window AS (
  -- Gated on since < P (a one-time filter): a window inside retention skips this seq-index walk, which would
  -- otherwise read every retained row older than the window (165 ms for 700k rows measured; 0.6 ms gated).
  SELECT seq, created_at FROM ${table}
  WHERE published_at IS NOT NULL AND published_at >= $1 AND created_at >= $1
    AND $1 < coalesce((SELECT published_at FROM oldest), 'infinity')
  ORDER BY seq LIMIT 1
), bound AS (
  SELECT coalesce((SELECT seq FROM first_in_window), pg_sequence_last_value(pg_get_serial_sequence($2, 'seq')) + 1) AS s0
)
SELECT b.s0::text AS s0,
       (SELECT published_at FROM oldest) AS oldest_published,
       (SELECT max(seq) FROM ${table} WHERE seq < b.s0)::text AS before_seq,
       (SELECT created_at FROM first_in_window) AS first_created_at
FROM bound b`,
    [since, table],
  );
  const row = rows[0] as { s0: string | null; before_seq: string | null; first_created_at: Date | null; oldest_published: Date | null } | undefined;
  if (!row || row.s0 === null) return null; // nothing was ever inserted
  if (row.oldest_published !== null && since.getTime() >= row.oldest_published.getTime()) return null;
  const s0 = BigInt(row.s0);
  const before = BigInt(row.before_seq ?? '0');
  const missing = s0 - before - 1n;
  if (missing <= 0n) return null;
  return { missingSeqs: Number(missing), fromSeq: String(before + 1n), toSeq: row.s0, firstRetainedAt: row.first_created_at, oldestPublishedAt: row.oldest_published };
}
