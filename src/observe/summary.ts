import type { PendingStats } from '../db/pendingStats.js';
import type { BatchResult } from '../relay/relay.js';

export interface Summary {
  /** Length of the period, in seconds. */
  periodSeconds: number;
  published: number;
  /** Events published per second over the period, to 0.1. */
  perSecond: number;
  failed: number;
  dead: number;
  /** Batches rolled back as a whole (Kafka or PostgreSQL unreachable). */
  failedBatches: number;
  /** Latest sampled backlog, or null before the first sample (or when sampling fails). */
  backlog: number | null;
  oldestPendingAgeSeconds: number | null;
}

/**
 * Counts what happened between two info-level summary lines. The per-batch line is at debug: at 500-event batches
 * and thousands of events per second it would drown everything else, while one line a minute shows rate and backlog.
 */
export class SummaryWindow {
  private published = 0;
  private failed = 0;
  private dead = 0;
  private failedBatches = 0;
  private since: number;

  constructor(private readonly now: () => number = Date.now) {
    this.since = now();
  }

  recordBatch(result: BatchResult): void {
    this.published += result.published;
    this.failed += result.failed;
    this.dead += result.dead;
  }

  recordBatchError(): void {
    this.failedBatches++;
  }

  /** Returns the summary of the period that just ended and starts a new one. */
  take(pending: PendingStats | undefined): Summary {
    const t = this.now();
    const periodSeconds = Math.max(0.001, (t - this.since) / 1000);
    const summary: Summary = {
      periodSeconds: Math.round(periodSeconds),
      published: this.published,
      perSecond: Math.round((this.published / periodSeconds) * 10) / 10,
      failed: this.failed,
      dead: this.dead,
      failedBatches: this.failedBatches,
      backlog: pending?.pending ?? null,
      oldestPendingAgeSeconds: pending === undefined ? null : Math.round(pending.oldestAgeSeconds * 10) / 10,
    };
    this.published = this.failed = this.dead = this.failedBatches = 0;
    this.since = t;
    return summary;
  }
}
