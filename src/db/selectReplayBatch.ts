import type { Queryable } from '../outbox/write.js';
import type { ClaimedEvent } from './claimBatch.js';
import { eventsTable } from './identifiers.js';
import { REPLAY_WINDOW_WHERE, replayWindowParams, type ReplayWindow } from './replayWindow.js';

export interface ReplayRow extends ClaimedEvent {
  published_at: Date;
}

/**
 * The next page of the window in seq order, keyset-paginated (`seq > $last … ORDER BY seq LIMIT n`): every page
 * costs the same however deep the walk is, and rows are only read — no locks, no transaction — so a running relay
 * never waits on a replay, and a replay never holds back vacuum with a long snapshot.
 * `seq` is selected as is (pg hands int8 over as a string anyway): a `seq::text AS seq` would make ORDER BY sort
 * the text alias, '10' before '9', and the keyset walk would skip rows.
 */
export async function selectReplayBatch(
  db: Queryable,
  schema: string,
  window: ReplayWindow,
  page: { maxSeq: string; limit: number },
): Promise<ReplayRow[]> {
  const { rows } = await db.query(
    `SELECT seq, id, topic, key, type, aggregate_type, aggregate_id, payload, headers, created_at, published_at, attempts
FROM ${eventsTable(schema)}
WHERE ${REPLAY_WINDOW_WHERE} AND seq <= $10::bigint
ORDER BY seq
LIMIT $11`,
    [...replayWindowParams(window), page.maxSeq, page.limit],
  );
  return rows as ReplayRow[];
}
