import { DEFAULT_SCHEMA, quoteSchema } from '../db/identifiers.js';
import { selectStatusByTopic, type TopicStatusRow } from '../db/selectStatusByTopic.js';
import type { Queryable } from '../outbox/write.js';

export interface TopicStatus extends TopicStatusRow {
  /** Age of the topic's oldest unpublished, not dead event (ms); null when it has none. */
  lagMs: number | null;
}

export interface OutboxStatus {
  /** PostgreSQL's clock when the numbers were read (all from one snapshot). */
  at: Date;
  /** Unpublished, not dead events (including those backing off after a refusal). */
  backlog: number;
  /** created_at of the oldest of them, and its age: how far behind the relay is. */
  oldestPendingAt: Date | null;
  lagMs: number | null;
  publishedLastMinute: number;
  publishedLastHour: number;
  /** Dead events waiting for an operator (`dead retry` / `dead discard`). */
  dead: number;
  /** Dead events an operator discarded: kept, never retried. */
  discarded: number;
  /** Per topic, sorted by name; totals above are their sums. */
  topics: TopicStatus[];
}

/** A few index-backed counts of the outbox (see selectStatusByTopic for what each one costs). */
export async function getStatus(db: Queryable, options: { schema?: string } = {}): Promise<OutboxStatus> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  quoteSchema(schema);
  const { now, topics: rows } = await selectStatusByTopic(db, schema);
  const lag = (oldest: Date | null) => (oldest === null ? null : Math.max(0, now.getTime() - oldest.getTime()));
  const topics = rows.map((r) => ({ ...r, lagMs: lag(r.oldestPendingAt) }));
  const oldest = topics.reduce<Date | null>((min, t) => (t.oldestPendingAt && (!min || t.oldestPendingAt < min) ? t.oldestPendingAt : min), null);
  const sum = (pick: (t: TopicStatus) => number) => topics.reduce((n, t) => n + pick(t), 0);
  return {
    at: now,
    backlog: sum((t) => t.backlog),
    oldestPendingAt: oldest,
    lagMs: lag(oldest),
    publishedLastMinute: sum((t) => t.publishedLastMinute),
    publishedLastHour: sum((t) => t.publishedLastHour),
    dead: sum((t) => t.dead),
    discarded: sum((t) => t.discarded),
    topics,
  };
}

export interface StatusThresholds {
  /** Alert when the oldest pending event is older than this (ms). */
  maxLagMs?: number;
  /** Alert when more than this many events are pending. */
  maxBacklog?: number;
}

/** The thresholds a status exceeds, as sentences for a person or a pager; empty when all is well. */
export function exceededThresholds(status: OutboxStatus, thresholds: StatusThresholds): string[] {
  const out: string[] = [];
  if (thresholds.maxLagMs !== undefined && status.lagMs !== null && status.lagMs > thresholds.maxLagMs) {
    out.push(`lag ${status.lagMs} ms exceeds the maximum of ${thresholds.maxLagMs} ms`);
  }
  if (thresholds.maxBacklog !== undefined && status.backlog > thresholds.maxBacklog) {
    out.push(`backlog ${status.backlog} exceeds the maximum of ${thresholds.maxBacklog}`);
  }
  return out;
}
