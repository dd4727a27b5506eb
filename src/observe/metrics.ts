import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PendingStats } from '../db/pendingStats.js';
import type { FailureKind } from '../kafka/errors.js';
import type { BatchDetails, BatchResult } from '../relay/relay.js';

export const METRIC_PREFIX = 'outbox_relay_';

/** Why a publish failed. `transient` = a whole batch rolled back (Kafka or PostgreSQL unreachable), once per batch. */
export type FailureReason = FailureKind;

export interface RelayMetrics {
  /** The relay's own registry: several relays (or tests) in one process never share or clash on metrics. */
  readonly registry: Registry;
  observeBatch(result: BatchResult, details: BatchDetails, nowMs?: number): void;
  observeBatchError(): void;
  setPending(stats: PendingStats): void;
  setConnected(target: 'postgres' | 'kafka', connected: boolean): void;
  /** 0 once the relay stopped. */
  setUp(up: boolean): void;
}

export interface MetricsOptions {
  registry?: Registry;
  /** Node process metrics (CPU, memory, event-loop lag, GC) under their standard names. Default true. */
  processMetrics?: boolean;
}

export function createRelayMetrics(options: MetricsOptions = {}): RelayMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  // Standard names (process_*, nodejs_*), not prefixed: the usual Node.js dashboards and alerts find them as they are.
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const published = new Counter({
    name: `${METRIC_PREFIX}events_published_total`,
    help: 'Events Kafka acknowledged (acks=all) and the relay marked published, by topic.',
    labelNames: ['topic'] as const,
    registers,
  });
  const failures = new Counter({
    name: `${METRIC_PREFIX}publish_failures_total`,
    help: 'Publish failures by reason: transient = a whole batch rolled back (Kafka or PostgreSQL unreachable), once per batch; permanent = an event Kafka refuses for good (too large, not authorised); event = an event that cannot go yet (unknown topic).',
    labelNames: ['reason'] as const,
    registers,
  });
  const dead = new Counter({
    name: `${METRIC_PREFIX}events_dead_total`,
    help: 'Events set aside as dead after max attempts; they wait for an operator.',
    labelNames: ['topic'] as const,
    registers,
  });
  const batchSize = new Histogram({
    name: `${METRIC_PREFIX}batch_size_events`,
    help: 'Events claimed per non-empty batch (empty polls are not observed).',
    // Up to the largest allowed --batch-size, 10,000.
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000],
    registers,
  });
  const batchDuration = new Histogram({
    name: `${METRIC_PREFIX}batch_duration_seconds`,
    help: 'Claim → publish → mark → commit time of non-empty batches.',
    // A 500-event batch to a local broker takes ~20–50 ms; the top buckets catch the 10 s publish timeout.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const lag = new Histogram({
    name: `${METRIC_PREFIX}publish_lag_seconds`,
    help: 'Time from the event row being written (created_at) to its publication being committed.',
    // Idle relays see ≤ one poll interval (500 ms default); minutes and hours mean an outage or backoff.
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3_600],
    registers,
  });
  const backlog = new Gauge({
    name: `${METRIC_PREFIX}backlog_events`,
    help: 'Unpublished, not-dead events, sampled every few seconds; counted up to a cap (100,000 by default), so the cap means "at least".',
    registers,
  });
  const oldestAge = new Gauge({
    name: `${METRIC_PREFIX}oldest_pending_age_seconds`,
    help: 'Age of the oldest unpublished, not-dead event (0 when none), sampled every few seconds.',
    registers,
  });
  const up = new Gauge({
    name: `${METRIC_PREFIX}up`,
    help: '1 while the relay loop runs and its last batch succeeded; 0 while it backs off after a failed batch, or stopped.',
    registers,
  });
  const connected = new Gauge({
    name: `${METRIC_PREFIX}connected`,
    help: '1 when the last reachability check of the target (postgres: SELECT 1, kafka: describe cluster) succeeded.',
    labelNames: ['target'] as const,
    registers,
  });

  // Zero-initialise the fixed label sets so rate() and absent-series alerts work before the first failure.
  for (const reason of ['transient', 'permanent', 'event'] as const) failures.inc({ reason }, 0);
  up.set(0);

  return {
    registry,
    observeBatch(result, details, nowMs = Date.now()) {
      up.set(1);
      if (result.claimed === 0) return;
      batchSize.observe(result.claimed);
      batchDuration.observe(details.durationMs / 1000);
      const bySeq = new Map(details.events.map((e) => [e.seq, e]));
      for (const seq of details.publishedSeqs) {
        const event = bySeq.get(seq);
        if (!event) continue;
        published.inc({ topic: event.topic });
        // created_at is the database's clock: clamp the small negative lags a skewed host clock would produce.
        lag.observe(Math.max(0, (nowMs - event.created_at.getTime()) / 1000));
      }
      const deadSeqs = new Set(details.deadSeqs);
      for (const seq of deadSeqs) {
        const event = bySeq.get(seq);
        if (event) dead.inc({ topic: event.topic });
      }
      countEventFailures(details, (reason, n) => failures.inc({ reason }, n));
    },
    observeBatchError() {
      up.set(0);
      failures.inc({ reason: 'transient' });
    },
    setPending(stats) {
      backlog.set(stats.pending);
      oldestAge.set(stats.oldestAgeSeconds);
    },
    setConnected(target, ok) {
      connected.set({ target }, ok ? 1 : 0);
    },
    setUp(value) {
      up.set(value ? 1 : 0);
    },
  };
}

/** Per-event failures by kind, as the relay classified them. */
export function countEventFailures(details: Pick<BatchDetails, 'failures'>, add: (reason: FailureReason, n: number) => void): void {
  const byKind = new Map<FailureKind, number>();
  for (const f of details.failures) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  for (const [kind, n] of byKind) add(kind, n);
}
