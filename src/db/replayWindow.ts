/**
 * Which rows a replay covers, as one WHERE clause shared by the count and the batch query so their numbers agree.
 * Parameters $1–$9 are fixed; the callers append theirs from $10 on.
 */
export interface ReplayWindow {
  /** created_at >= since. */
  since: Date;
  /** created_at < until; NULL = up to the snapshot. */
  until: Date | null;
  /**
   * PostgreSQL's `now()` when the replay counted its window, as exact ISO text (microseconds; a JS Date would drop
   * them and could lose a row published in the same millisecond). Rows published later are not replayed; NULL (the
   * count itself) means `now()`.
   */
  snapshot: string | null;
  /** Only rows with seq > afterSeq (resume point). */
  afterSeq: string;
  topics?: readonly string[] | undefined;
  types?: readonly string[] | undefined;
  /** Matches the Kafka key: the `key` column, or the event ID when it is NULL. */
  keys?: readonly string[] | undefined;
  aggregateIds?: readonly string[] | undefined;
  ids?: readonly string[] | undefined;
}

/**
 * The window is defined by created_at, the time the writer's transaction started, because that is the time the
 * writer and its consumers know the event by. `published_at >= since` is implied (a row is published after it was
 * committed, and both stamps come from PostgreSQL's clock) and is spelled out so the planner can range-scan the
 * published_at index instead of reading every retained row; created_at has no index.
 */
export const REPLAY_WINDOW_WHERE = `published_at IS NOT NULL
  AND published_at >= $1 AND published_at <= coalesce($3::timestamptz, now())
  AND created_at >= $1 AND ($2::timestamptz IS NULL OR created_at < $2)
  AND seq > $4::bigint
  AND ($5::text[] IS NULL OR topic = ANY($5::text[]))
  AND ($6::text[] IS NULL OR type = ANY($6::text[]))
  AND ($7::text[] IS NULL OR coalesce(key, id::text) = ANY($7::text[]))
  AND ($8::text[] IS NULL OR aggregate_id = ANY($8::text[]))
  AND ($9::uuid[] IS NULL OR id = ANY($9::uuid[]))`;

export function replayWindowParams(w: ReplayWindow): unknown[] {
  const list = (values: readonly string[] | undefined) => (values && values.length > 0 ? [...values] : null);
  return [w.since, w.until, w.snapshot, w.afterSeq, list(w.topics), list(w.types), list(w.keys), list(w.aggregateIds), list(w.ids)];
}
