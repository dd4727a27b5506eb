import { countPrunable } from '../db/countPrunable.js';
import { deletePublished } from '../db/deletePublished.js';
import { DEFAULT_SCHEMA, quoteSchema } from '../db/identifiers.js';
import { ConfigError, coerceError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { Queryable } from '../outbox/write.js';

export interface PruneOptions {
  schema?: string;
  /** Delete events published more than this long ago (ms, by PostgreSQL's clock). Must be > 0. */
  olderThanMs: number;
  /**
   * Rows per DELETE statement. Default 1,000: each statement's locks and WAL stay small and the relay's
   * claims never queue behind a prune; a bigger number only saves round trips.
   */
  batchSize?: number;
  /** Count what would be deleted; delete nothing. */
  dryRun?: boolean;
  /** Aborting stops after the DELETE in flight (each one commits on its own). */
  signal?: AbortSignal;
  logger?: Logger;
}

export interface PruneResult {
  /** Rows deleted (or, on a dry run, that would be). */
  deleted: number;
  /** DELETE statements run. */
  batches: number;
  dryRun: boolean;
  elapsedMs: number;
}

/**
 * Deletes published events older than `olderThanMs`, oldest first, in small separately committed batches. Pending
 * and dead events are never deleted, whatever their age: they have not reached Kafka.
 */
export async function prune(db: Queryable, options: PruneOptions): Promise<PruneResult> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  quoteSchema(schema);
  const batchSize = options.batchSize ?? 1_000;
  if (!Number.isSafeInteger(options.olderThanMs) || options.olderThanMs <= 0) throw new ConfigError('olderThanMs', 'must be a whole number of ms > 0');
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) throw new ConfigError('batchSize', 'must be a whole number from 1 to 100000');
  const started = performance.now();
  if (options.dryRun) {
    const { count } = await countPrunable(db, schema, options.olderThanMs);
    return { deleted: count, batches: 0, dryRun: true, elapsedMs: performance.now() - started };
  }
  let deleted = 0;
  let batches = 0;
  while (!options.signal?.aborted) {
    const n = await deletePublished(db, schema, options.olderThanMs, batchSize);
    batches++;
    deleted += n;
    if (n < batchSize) break;
  }
  const result = { deleted, batches, dryRun: false, elapsedMs: performance.now() - started };
  if (deleted > 0) (options.logger ?? silentLogger()).info({ schema, ...result }, 'pruned published events');
  return result;
}

export interface RetentionOptions {
  schema?: string;
  /** Keep published events this long (ms). 0 disables retention: startRetention then does nothing. */
  retentionMs: number;
  /** Time between prunes. Default 5 min: a few hundred DELETEs a day, and at most ~5 min of extra rows kept. */
  intervalMs?: number;
  batchSize?: number;
  logger?: Logger;
}

/**
 * Throws ConfigError for options startRetention would refuse, so createRelay can refuse them before it starts;
 * `intervalOption` is the name the caller knows the interval by.
 */
export function checkRetentionOptions(options: Pick<RetentionOptions, 'retentionMs' | 'intervalMs'>, intervalOption = 'intervalMs'): void {
  if (!Number.isSafeInteger(options.retentionMs) || options.retentionMs < 0) throw new ConfigError('retentionMs', 'must be a whole number of ms ≥ 0');
  if (options.intervalMs !== undefined && (!Number.isSafeInteger(options.intervalMs) || options.intervalMs < 1)) {
    throw new ConfigError(intervalOption, 'must be a whole number of ms ≥ 1');
  }
}

/**
 * Prunes now and then every `intervalMs` until the returned function is called; that function stops the timer,
 * lets the DELETE in flight finish, and resolves (calling it again is harmless). A failed prune is logged and tried
 * again next interval. Several relays may each run one: SKIP LOCKED makes them share the rows instead of waiting on
 * each other. On a pg.Pool it holds at most one connection at a time, for one DELETE of at most `batchSize` rows
 * (prune runs its statements one after the other), so it can share the relay's pool without starving the loop.
 */
export function startRetention(db: Queryable, options: RetentionOptions): () => Promise<void> {
  const logger = options.logger ?? silentLogger();
  checkRetentionOptions(options);
  if (options.retentionMs === 0) return async () => undefined;
  const intervalMs = options.intervalMs ?? 300_000;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = prune(db, { schema: options.schema, olderThanMs: options.retentionMs, batchSize: options.batchSize, signal: abort.signal, logger })
      .then(
        () => undefined,
        (err: unknown) => logger.warn({ err: coerceError(err), retryInMs: intervalMs }, 'retention prune failed; trying again next interval'),
      )
      .finally(() => {
        // unref: a forgotten stop() must not keep a process alive by itself.
        if (!abort.signal.aborted) timer = setTimeout(tick, intervalMs).unref();
      });
  };
  tick();
  return async () => {
    abort.abort();
    clearTimeout(timer);
    await running;
  };
}
