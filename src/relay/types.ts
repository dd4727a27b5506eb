import type { ClaimedEvent } from '../db/claimBatch.js';
import type { EventFailure } from '../db/recordFailures.js';
import type { KafkaOptions } from '../kafka/producer.js';
import type { Logger } from '../log.js';
import type { BackoffPolicy } from './backoff.js';

export interface RelayOptions {
  /** PostgreSQL connection string. Never logged unredacted. */
  databaseUrl: string;
  kafka: KafkaOptions;
  /** Schema of the outbox table. Default `outbox`. */
  schema?: string;
  /**
   * Events claimed, published and marked per transaction. Default 500. Larger batches amortise round trips
   * (throughput), but a crash mid-batch republishes up to this many events, and the batch's row locks are held for the
   * whole publish.
   */
  batchSize?: number;
  /**
   * How long an idle relay waits before looking again. Default 1 s. Commits wake the relay at once through
   * LISTEN/NOTIFY, so this only bounds the latency when a notification is lost (e.g. behind PgBouncer in transaction
   * mode: then lower it, e.g. 100 ms, at the cost of one cheap index probe per interval).
   */
  pollIntervalMs?: number;
  /** LISTEN for commits (default true). Turn off when connections go through a pooler that drops LISTEN. */
  listen?: boolean;
  /**
   * Longest wait for Kafka to acknowledge a batch. Default 10 s. It bounds how long claimed rows stay locked when a
   * broker hangs; the relay's transactions are killed by PostgreSQL after twice this (idle_in_transaction timeout).
   */
  publishTimeoutMs?: number;
  /** Attempts before an event Kafka refuses for good goes dead. Default 5. */
  maxAttempts?: number;
  /** Backoff of the loop after a failed batch (Kafka or PostgreSQL unreachable). Default 300 ms ×2 ±20 % up to 5 s. */
  backoff?: BackoffPolicy;
  /** Backoff of one refused event. Default 1 s ×2 ±20 % up to 5 min. */
  eventBackoff?: BackoffPolicy;
  /**
   * Delete published events once they are this old (ms), in DELETEs of 1,000 rows every `retentionIntervalMs`;
   * pending and dead events are never deleted. Default undefined = off (0 is off too): the table is the embedding
   * application's, which may keep published rows for its own reasons (audit, replays further back, its own prune
   * job), and a library must not start deleting them on an upgrade. `outbox-relay run` turns it on (`--retention`,
   * 7 days), since an unbounded table is what an operator who never thought about it would get otherwise. Events
   * older than the retention can no longer be replayed.
   */
  retentionMs?: number;
  /** Time between retention passes. Default 5 min: at most ~5 min of extra rows kept, a few hundred DELETEs a day. */
  retentionIntervalMs?: number;
  logger?: Logger;
  /** Hooks for metrics and health (see src/observe/); called synchronously, must not throw. */
  observer?: RelayObserver;
}

/** What the loop reports as it goes, for metrics and health probes. Every hook is optional. */
export interface RelayObserver {
  /** After every claim transaction, empty or not. `events` are the claimed rows (for per-topic counts and lag). */
  onBatch?(result: BatchResult, details: BatchDetails): void;
  /** A batch failed as a whole (Kafka or PostgreSQL unreachable); the loop backs off. */
  onBatchError?(error: Error, consecutiveFailures: number): void;
}

export interface BatchDetails {
  durationMs: number;
  /** The claimed rows (for per-topic counts and lag). */
  events: readonly ClaimedEvent[];
  publishedSeqs: readonly string[];
  deadSeqs: readonly string[];
  /** Each event Kafka refused, with why. */
  failures: readonly Pick<EventFailure, 'seq' | 'kind'>[];
}

export interface BatchResult {
  claimed: number;
  published: number;
  failed: number;
  dead: number;
}

export interface Relay {
  /** Starts the loop. Resolves once started; failures to reach PostgreSQL or Kafka are retried, not thrown. */
  start(): Promise<void>;
  /** Finishes the batch in flight, commits, disconnects. Safe to call twice. */
  stop(): Promise<void>;
  /** One claim → publish → mark transaction; what the loop runs. Exposed for tests and embedding. */
  processBatch(): Promise<BatchResult>;
  /** Resolves when the loop ends after stop(); rejects on an internal error (a bug), which should exit the process. */
  readonly finished: Promise<void>;
}
