import type { Queryable } from '../outbox/write.js';
import { eventsTable } from './identifiers.js';
import { REPLAY_WINDOW_WHERE, replayWindowParams, type ReplayWindow } from './replayWindow.js';

export interface ReplayWindowCount {
  total: number;
  /** Highest seq in the window: the walk stops there, so rows published meanwhile do not stretch the replay. */
  maxSeq: string | null;
  /** The window's snapshot: PostgreSQL's now() as exact UTC ISO text, to pass to the batch queries. */
  snapshot: string;
}

/** Counts the window once, before publishing, for the progress bar, the dry run and the walk's upper bound. */
export async function countReplayWindow(db: Queryable, schema: string, window: ReplayWindow): Promise<ReplayWindowCount> {
  const { rows } = await db.query(
    `SELECT count(*)::bigint AS total, max(seq)::text AS max_seq,
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS snapshot
FROM ${eventsTable(schema)} WHERE ${REPLAY_WINDOW_WHERE}`,
    replayWindowParams({ ...window, snapshot: null }),
  );
  const row = rows[0] as { total: string; max_seq: string | null; snapshot: string };
  return { total: Number(row.total), maxSeq: row.max_seq, snapshot: row.snapshot };
}
