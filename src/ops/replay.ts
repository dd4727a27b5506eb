import pg from 'pg';
import { countReplayWindow } from '../db/countReplayWindow.js';
import { DEFAULT_SCHEMA, quoteSchema } from '../db/identifiers.js';
import { selectReplayBatch, type ReplayRow } from '../db/selectReplayBatch.js';
import { selectRetentionGap, type RetentionGap } from '../db/selectRetentionGap.js';
import { ConfigError, OutboxError } from '../errors.js';
import { toTopicMessages } from '../kafka/message.js';
import { KafkaPublisher, type KafkaOptions } from '../kafka/producer.js';
import { silentLogger, type Logger } from '../log.js';
import { isUuid, isValidTopicName } from '../outbox/event.js';

export type { RetentionGap };

/** Set to `true` on every replayed message, so consumers can tell a replay from a first delivery. */
export const HEADER_REPLAY = 'outbox-replay';

export interface ReplayOptions {
  /** Where the outbox is: a pool (left open) or a URL (a one-connection pool is opened and closed). */
  pool?: pg.Pool;
  databaseUrl?: string;
  /** Where to publish: a connected or unconnected publisher (left connected), or options for one made here. */
  publisher?: KafkaPublisher;
  kafka?: KafkaOptions;
  /** Bound on one Kafka send when `kafka` is given. Default 10 s. */
  publishTimeoutMs?: number;
  schema?: string;
  /** Window start, inclusive, on created_at (when the writer's transaction started). */
  since: Date;
  /** Window end, exclusive, on created_at. Default: PostgreSQL's clock when the replay counts its window. */
  until?: Date;
  topics?: string[];
  types?: string[];
  /** Kafka keys: the `key` column, or the event ID for events written without one. */
  keys?: string[];
  aggregateIds?: string[];
  ids?: string[];
  /** Publish to this topic instead of each event's own. */
  toTopic?: string;
  /** Resume point: only events with a larger seq (the `lastSeq` of an interrupted replay). */
  afterSeq?: string;
  /** Count and sample the window, publish nothing (Kafka is not contacted). */
  dryRun?: boolean;
  /** Events shown by a dry run. Default 10. */
  sampleSize?: number;
  /** Ceiling in events per second, to spare consumers. Batches shrink to at most `rate` events. Default: none. */
  ratePerSecond?: number;
  /** Events read and sent per step (one SELECT, one producer call). Default 500. */
  batchSize?: number;
  /** Called once before anything is published: the window's size and whether retention may have cut it. */
  onStart?: (info: ReplayStart) => void;
  /** Called after every published batch. */
  onProgress?: (progress: ReplayProgress) => void;
  /** Aborting stops the replay after the batch in flight; the result says where to resume. */
  signal?: AbortSignal;
  logger?: Logger;
}

export interface ReplayWindowInfo {
  since: Date;
  /** The window's end as resolved (the default is PostgreSQL's clock at the start, rounded up to the millisecond). */
  until: Date;
  afterSeq: string;
}

export interface ReplayStart {
  total: number;
  window: ReplayWindowInfo;
  /** Non-null when rows from the window's start may have been pruned (see selectRetentionGap for the evidence). */
  retentionGap: RetentionGap | null;
}

export interface ReplayProgress {
  total: number;
  done: number;
  /** seq of the last event Kafka acknowledged: resume with `afterSeq` = this. */
  lastSeq: string | null;
  elapsedMs: number;
  ratePerSecond: number;
  /** Estimated time left; null before the first batch. */
  etaMs: number | null;
}

export interface ReplaySampleEvent {
  seq: string;
  id: string;
  topic: string;
  key: string | null;
  type: string | null;
  createdAt: Date;
  publishedAt: Date;
}

export interface ReplayResult extends ReplayStart {
  dryRun: boolean;
  published: number;
  lastSeq: string | null;
  /** False when aborted before the end of the window. */
  completed: boolean;
  elapsedMs: number;
  /** The first `sampleSize` events of the window (dry run only). */
  sample: ReplaySampleEvent[];
}

/** Kafka (or PostgreSQL) failed mid-replay. Everything up to `lastSeq` was acknowledged; resume after it. */
export class ReplayFailedError extends OutboxError {
  constructor(
    readonly published: number,
    readonly lastSeq: string | null,
    readonly window: ReplayWindowInfo,
    cause: unknown,
  ) {
    super(`replay failed after ${published} events (last seq ${lastSeq ?? 'none'}): ${(cause as Error)?.message ?? String(cause)}`, {
      code: 'OUTBOX_REPLAY_FAILED',
      retriable: true,
      cause,
    });
  }
}

/**
 * Republishes already-published events of a time window in seq order, with their own ID, key, value and headers
 * plus `outbox-replay: true`. Reads only (no row locks, no long transaction), never changes a row, so a running
 * relay is undisturbed and a replay can be repeated or resumed at will.
 */
export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const batchSize = options.batchSize ?? 500;
  validate(options, schema, batchSize);
  const logger = options.logger ?? silentLogger();
  const ownPool = options.pool ? undefined : openPool(options.databaseUrl!, logger);
  const pool = options.pool ?? ownPool!;
  let ownPublisher: KafkaPublisher | undefined;
  try {
    const started = performance.now();
    const afterSeq = options.afterSeq ?? '0';
    const filters = { topics: options.topics, types: options.types, keys: options.keys, aggregateIds: options.aggregateIds, ids: options.ids };
    const base = { since: options.since, until: options.until ?? null, afterSeq, ...filters };
    const retentionGap = await selectRetentionGap(pool, schema, options.since);
    const count = await countReplayWindow(pool, schema, { ...base, snapshot: null });
    const window: ReplayWindowInfo = { since: options.since, until: options.until ?? ceilToMillisecond(count.snapshot), afterSeq };
    const start: ReplayStart = { total: count.total, window, retentionGap };
    options.onStart?.(start);
    logger.info({ total: count.total, since: window.since, until: window.until, afterSeq, retentionGap }, 'replay window counted');

    const result: ReplayResult = { ...start, dryRun: options.dryRun ?? false, published: 0, lastSeq: null, completed: true, elapsedMs: 0, sample: [] };
    if (options.dryRun || count.maxSeq === null) {
      if (options.dryRun && count.maxSeq !== null) {
        const rows = await selectReplayBatch(pool, schema, { ...base, snapshot: count.snapshot }, { maxSeq: count.maxSeq, limit: options.sampleSize ?? 10 });
        result.sample = rows.map(toSample);
      }
      result.elapsedMs = performance.now() - started;
      return result;
    }

    const publisher = options.publisher ?? (ownPublisher = new KafkaPublisher({ ...options.kafka!, publishTimeoutMs: options.publishTimeoutMs ?? 10_000, logger }));
    // With a rate, a batch never holds more than one second's worth, so the rate holds at every moment, not on average.
    const pageSize = options.ratePerSecond ? Math.max(1, Math.min(batchSize, Math.floor(options.ratePerSecond))) : batchSize;
    const extraHeaders = { [HEADER_REPLAY]: 'true' };
    let last = afterSeq;
    while (!options.signal?.aborted && BigInt(last) < BigInt(count.maxSeq)) {
      let rows: ReplayRow[];
      try {
        rows = await selectReplayBatch(pool, schema, { ...base, afterSeq: last, snapshot: count.snapshot }, { maxSeq: count.maxSeq, limit: pageSize });
        if (rows.length === 0) break;
        const events = options.toTopic ? rows.map((r) => ({ ...r, topic: options.toTopic! })) : rows;
        await publisher.send(toTopicMessages(events, extraHeaders));
      } catch (err) {
        throw new ReplayFailedError(result.published, result.lastSeq, window, err);
      }
      last = rows[rows.length - 1]!.seq;
      result.published += rows.length;
      result.lastSeq = last;
      const elapsedMs = performance.now() - started;
      const rate = result.published / Math.max(elapsedMs / 1_000, 0.001);
      options.onProgress?.({ total: count.total, done: result.published, lastSeq: last, elapsedMs, ratePerSecond: rate, etaMs: Math.max(0, count.total - result.published) / rate * 1_000 });
      if (options.ratePerSecond) await sleep(started + (result.published / options.ratePerSecond) * 1_000 - performance.now(), options.signal);
    }
    result.completed = BigInt(last) >= BigInt(count.maxSeq) || !options.signal?.aborted;
    result.elapsedMs = performance.now() - started;
    logger.info({ published: result.published, lastSeq: result.lastSeq, completed: result.completed }, 'replay finished');
    return result;
  } finally {
    await ownPublisher?.disconnect();
    await ownPool?.end().catch(() => undefined);
  }
}

function validate(o: ReplayOptions, schema: string, batchSize: number): void {
  quoteSchema(schema);
  if (!o.pool && !o.databaseUrl) throw new ConfigError('databaseUrl', 'or pool is required');
  if (!o.dryRun && !o.publisher && !o.kafka) throw new ConfigError('kafka', 'or publisher is required unless dryRun');
  if (!(o.since instanceof Date) || Number.isNaN(o.since.getTime())) throw new ConfigError('since', 'must be a valid Date');
  if (o.until !== undefined && (!(o.until instanceof Date) || !(o.until.getTime() > o.since.getTime()))) {
    throw new ConfigError('until', 'must be a valid Date later than since');
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new ConfigError('batchSize', 'must be a whole number from 1 to 10000');
  if (o.ratePerSecond !== undefined && !(Number.isFinite(o.ratePerSecond) && o.ratePerSecond > 0)) {
    throw new ConfigError('ratePerSecond', 'must be a positive number');
  }
  if (o.afterSeq !== undefined && !/^\d{1,19}$/.test(o.afterSeq)) throw new ConfigError('afterSeq', 'must be a whole number ≥ 0');
  for (const topic of [...(o.topics ?? []), ...(o.toTopic === undefined ? [] : [o.toTopic])]) {
    if (!isValidTopicName(topic)) throw new ConfigError(o.toTopic === topic ? 'toTopic' : 'topics', `has an invalid Kafka topic name ${JSON.stringify(topic)}`);
  }
  for (const id of o.ids ?? []) if (!isUuid(id)) throw new ConfigError('ids', `has ${JSON.stringify(id)}, which is not a UUID`);
}

function openPool(databaseUrl: string, logger: Logger): pg.Pool {
  // One connection: the replay runs one query at a time.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, application_name: 'outbox-relay replay' });
  pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
  return pool;
}

/** `2024-05-01T10:00:00.123456Z` → the next millisecond at or after it, so no row before the snapshot falls out. */
export function ceilToMillisecond(isoMicros: string): Date {
  const date = new Date(`${isoMicros.slice(0, 23)}Z`);
  return /[1-9]/.test(isoMicros.slice(23, 26)) ? new Date(date.getTime() + 1) : date;
}

function toSample(r: ReplayRow): ReplaySampleEvent {
  return { seq: r.seq, id: r.id, topic: r.topic, key: r.key, type: r.type, createdAt: r.created_at, publishedAt: r.published_at };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
