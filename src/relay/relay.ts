import pg from 'pg';
import { openClaimTransaction, type ClaimTransaction } from './claimTransaction.js';
import { markPublished } from '../db/markPublished.js';
import { recordFailures } from '../db/recordFailures.js';
import { DEFAULT_SCHEMA, quoteSchema } from '../db/identifiers.js';
import { coerceError, isProgrammingError } from '../errors.js';
import { KafkaPublisher } from '../kafka/producer.js';
import { describeKafkaError } from '../kafka/errors.js';
import { silentLogger, type Logger } from '../log.js';
import { backoffDelay, RELAY_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { BatchResult, Relay, RelayObserver, RelayOptions } from './types.js';
import { publishEvents, type FailurePolicy, type PublishOutcome } from './publish.js';
import { WakeableSleep } from './wakeableSleep.js';
import { checkRelayOptions } from './checkOptions.js';
import { CommitListener } from './listener.js';
import { checkRetentionOptions, startRetention } from '../ops/prune.js';

export type { BatchDetails, BatchResult, Relay, RelayObserver, RelayOptions } from './types.js';

export function createRelay(options: RelayOptions): Relay {
  return new OutboxRelay(options);
}

class OutboxRelay implements Relay {
  private readonly schema: string;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly failurePolicy: FailurePolicy;
  private readonly logger: Logger;
  private readonly observer: RelayObserver;
  private readonly pool: pg.Pool;
  private readonly publisher: KafkaPublisher;
  private readonly sleeper = new WakeableSleep();
  // The backoff after a failed batch has its own sleep, which only stop() ends: a NOTIFY wakes the idle sleep above,
  // and under write load (hundreds of commits/s) one arrives within milliseconds of every failure, so a shared sleep
  // turned the 300 ms → 5 s backoff into a retry after every commit (38 failed batches in a 20 s Kafka outage
  // where the backoff allows 8-9; test/faults/kafka-outage.test.ts).
  private readonly backoffSleep = new WakeableSleep();
  private readonly listener: CommitListener | undefined;
  private readonly retention: { retentionMs: number; intervalMs: number | undefined } | undefined;
  private stopRetention: (() => Promise<void>) | undefined;
  private stopping = false;
  private prefetched: Promise<ClaimTransaction> | undefined;
  private loopPromise: Promise<void> | undefined;
  private resolveFinished!: () => void;
  private rejectFinished!: (err: Error) => void;
  readonly finished: Promise<void>;

  constructor(options: RelayOptions) {
    this.schema = options.schema ?? DEFAULT_SCHEMA;
    quoteSchema(this.schema);
    checkRelayOptions(options);
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    const publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
    this.backoff = options.backoff ?? RELAY_BACKOFF;
    this.failurePolicy = {
      maxAttempts: options.maxAttempts ?? 5,
      eventBackoff: options.eventBackoff ?? { initialMs: 1_000, maxMs: 300_000, factor: 2, jitter: 0.2 },
    };
    this.logger = options.logger ?? silentLogger();
    this.observer = options.observer ?? {};
    if (options.retentionMs !== undefined) {
      checkRetentionOptions({ retentionMs: options.retentionMs, intervalMs: options.retentionIntervalMs }, 'retentionIntervalMs');
      if (options.retentionMs > 0) this.retention = { retentionMs: options.retentionMs, intervalMs: options.retentionIntervalMs };
    }
    this.finished = new Promise((resolve, reject) => {
      this.resolveFinished = resolve;
      this.rejectFinished = reject;
    });
    // Swallow here so an unobserved rejection does not crash embedders who never look at `finished`.
    this.finished.catch(() => undefined);

    this.pool = new pg.Pool({
      connectionString: options.databaseUrl,
      application_name: 'outbox-relay',
      // The batch being published, the one claimed ahead of it, and one spare.
      max: 3,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      // A relay that lost Kafka mid-publish must not keep row locks: PostgreSQL ends its transaction after this.
      options: `-c idle_in_transaction_session_timeout=${2 * publishTimeoutMs + 5_000} -c statement_timeout=${publishTimeoutMs + 5_000}`,
    });
    // An idle connection broken by a PostgreSQL restart emits 'error' on the pool; without a listener Node crashes.
    this.pool.on('error', (err) => this.logger.warn({ err }, 'idle PostgreSQL connection failed; it will be replaced'));

    this.publisher = new KafkaPublisher({ ...options.kafka, publishTimeoutMs, logger: this.logger });
    if (options.listen ?? true) {
      this.listener = new CommitListener({
        databaseUrl: options.databaseUrl,
        schema: this.schema,
        onNotify: () => this.sleeper.wake(),
        logger: this.logger,
      });
    }
  }

  async start(): Promise<void> {
    if (this.loopPromise) return;
    this.logger.info(
      { schema: this.schema, batchSize: this.batchSize, pollIntervalMs: this.pollIntervalMs, retentionMs: this.retention?.retentionMs ?? 0 },
      'relay starting',
    );
    this.listener?.start();
    // On the loop's own pool (max 3: batch, prefetched batch, spare): a retention pass holds at most the one spare
    // connection at a time, for one DELETE of ≤ 1,000 rows, so a claim waits for a connection at most that long
    // (4 ms median, 8 ms max per 1,000-row DELETE on a 1M-row table).
    if (this.retention) {
      this.stopRetention = startRetention(this.pool, { schema: this.schema, ...this.retention, logger: this.logger });
    }
    this.loopPromise = this.loop().then(
      () => this.resolveFinished(),
      (err: unknown) => this.rejectFinished(coerceError(err)),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.sleeper.wake();
    this.backoffSleep.wake();
    // Stopped alongside the loop (it ends after the DELETE in flight) and before pool.end(), which would otherwise
    // wait for that DELETE's connection, or fail the next one.
    const retentionStopped = this.stopRetention?.();
    await this.loopPromise?.catch(() => undefined);
    await retentionStopped;
    await this.listener?.stop();
    await this.publisher.disconnect();
    await this.pool.end().catch(() => undefined);
    if (!this.loopPromise) this.resolveFinished();
    this.logger.info('relay stopped');
  }

  async processBatch(): Promise<BatchResult> {
    const started = performance.now();
    const claim = await (this.prefetched ?? openClaimTransaction(this.pool, this.schema, this.batchSize));
    this.prefetched = undefined;
    const { events } = claim;
    if (events.length === 0) {
      const empty = { claimed: 0, published: 0, failed: 0, dead: 0 };
      this.observer.onBatch?.(empty, { durationMs: performance.now() - started, events, publishedSeqs: [], deadSeqs: [], failures: [] });
      return empty;
    }
    // A full batch means more are waiting: claim the next one on a second connection while Kafka works on this one.
    // It is published only after this batch committed, so a crash still republishes at most this one batch, and a
    // failure here rolls it back unpublished, so per-key order holds.
    if (events.length === this.batchSize && !this.stopping) this.prefetch();
    let outcome: PublishOutcome;
    try {
      outcome = await publishEvents(this.publisher, events, this.failurePolicy);
      await claim.commit(async (client) => {
        await markPublished(client, this.schema, outcome.published);
        await recordFailures(client, this.schema, outcome.failures);
      });
    } catch (err) {
      await claim.rollback();
      await this.discardPrefetched();
      throw err;
    }
    const dead = outcome.failures.filter((f) => f.dead);
    for (const failure of outcome.failures) {
      this.logger[failure.dead ? 'error' : 'warn'](
        { seq: failure.seq, error: failure.error, dead: failure.dead, nextAttemptAt: failure.nextAttemptAt },
        failure.dead ? 'event is dead: Kafka refused it for good' : 'Kafka refused an event; backing it off',
      );
    }
    const durationMs = performance.now() - started;
    this.logger.debug({ claimed: events.length, published: outcome.published.length, ms: Math.round(durationMs) }, 'batch published');
    const result = { claimed: events.length, published: outcome.published.length, failed: outcome.failures.length, dead: dead.length };
    this.observer.onBatch?.(result, { durationMs, events, publishedSeqs: outcome.published, deadSeqs: dead.map((f) => f.seq), failures: outcome.failures });
    return result;
  }

  private prefetch(): void {
    const next = openClaimTransaction(this.pool, this.schema, this.batchSize);
    // Its failure surfaces when processBatch awaits it; until then keep it from being an unhandled rejection.
    next.catch(() => undefined);
    this.prefetched = next;
  }

  /** Rolls back a batch claimed ahead but not yet published (on failure and on stop): its rows become claimable. */
  private async discardPrefetched(): Promise<void> {
    const next = this.prefetched;
    this.prefetched = undefined;
    await next?.then((claim) => claim.rollback(), () => undefined);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    try {
      while (!this.stopping) {
        let claimed = 0;
        try {
          claimed = (await this.processBatch()).claimed;
          if (failures > 0) this.logger.info({ afterFailures: failures }, 'relay recovered');
          failures = 0;
        } catch (err) {
          if (isProgrammingError(err)) throw err;
          failures++;
          this.observer.onBatchError?.(coerceError(err), failures);
          const delayMs = backoffDelay(failures, this.backoff);
          const hint = (err as { code?: string }).code === '42P01' ? `the outbox table is missing: run \`outbox-relay migrate --schema ${this.schema}\`` : undefined;
          this.logger.warn({ error: describeKafkaError(err), hint, failures, retryInMs: delayMs }, 'batch failed; backing off');
          await this.backoffSleep.sleep(delayMs);
          continue;
        }
        // A full batch means more are waiting: claim again at once. Otherwise idle until a NOTIFY or the poll interval.
        if (claimed < this.batchSize && !this.stopping) await this.sleeper.sleep(this.pollIntervalMs);
      }
    } finally {
      await this.discardPrefetched();
    }
  }
}
