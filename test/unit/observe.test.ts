import { describe, expect, it } from 'vitest';
import { createReadiness, Liveness, livenessWindowMs } from '../../src/observe/health.js';
import { countEventFailures, createRelayMetrics } from '../../src/observe/metrics.js';
import { SummaryWindow } from '../../src/observe/summary.js';
import type { ClaimedEvent } from '../../src/db/claimBatch.js';
import { parseMetrics, value } from '../helpers/scrape.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

function event(seq: number, topic: string, createdAt: Date): ClaimedEvent {
  return { seq: String(seq), id: `id-${seq}`, topic, key: null, type: null, aggregate_type: null, aggregate_id: null, payload: Buffer.from('{}'), headers: {}, created_at: createdAt, attempts: 0 };
}

describe('liveness', () => {
  it('allows a full backoff plus a timed-out attempt before calling the loop stalled', () => {
    // 36 s capped backoff + 2 × 10 s publish/statement timeouts + 9 s slack.
    expect(livenessWindowMs(500, 10_000)).toBe(65_000);
    expect(livenessWindowMs(60_000, 10_000)).toBe(180_000);
  });

  it('is alive until the window passes without a turn', () => {
    const c = clock();
    const liveness = new Liveness(1_000, c.now);
    c.advance(1_000);
    expect(liveness.status()).toEqual({ alive: true, sinceLastTurnMs: 1_000, windowMs: 1_000 });
    c.advance(1);
    expect(liveness.status().alive).toBe(false);
    liveness.beat();
    expect(liveness.status()).toMatchObject({ alive: true, sinceLastTurnMs: 0 });
  });
});

describe('readiness', () => {
  it('reports each check and is ready only when all pass', async () => {
    const readiness = createReadiness({
      checks: { postgres: async () => undefined, kafka: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:9092')) },
    });
    const report = await readiness.check();
    expect(report.ready).toBe(false);
    expect(report.checks.postgres).toMatchObject({ ok: true });
    expect(report.checks.kafka).toMatchObject({ ok: false, error: 'connect ECONNREFUSED 127.0.0.1:9092' });
  });

  it('counts a check that does not answer within the timeout as down', async () => {
    const readiness = createReadiness({ checks: { kafka: () => new Promise(() => undefined) }, timeoutMs: 30 });
    expect((await readiness.check()).checks.kafka).toMatchObject({ ok: false, error: 'no answer within 30 ms' });
  });

  it('shares one round of checks between callers within the cache time', async () => {
    const c = clock();
    let calls = 0;
    const reports: boolean[] = [];
    const readiness = createReadiness({ checks: { db: async () => void calls++ }, cacheMs: 1_000, now: c.now, onReport: (r) => reports.push(r.ready) });
    await Promise.all([readiness.check(), readiness.check()]);
    c.advance(999);
    await readiness.check();
    expect(calls).toBe(1);
    c.advance(1);
    await readiness.check();
    expect(calls).toBe(2);
    expect(reports).toEqual([true, true]);
  });
});

describe('relay metrics', () => {
  it('counts published events by topic, observes batch size, duration and lag, and keeps registries apart', async () => {
    const first = createRelayMetrics({ processMetrics: true });
    const second = createRelayMetrics({ processMetrics: true }); // a second registry in one process must not clash
    const now = Date.parse('2026-01-01T00:00:10Z');
    const events = [event(1, 'orders', new Date(now - 2_000)), event(2, 'orders', new Date(now - 500)), event(3, 'users', new Date(now + 50))];
    first.observeBatch({ claimed: 3, published: 3, failed: 0, dead: 0 }, { durationMs: 40, events, publishedSeqs: ['1', '2', '3'], deadSeqs: [], failures: [] }, now);
    first.observeBatch({ claimed: 0, published: 0, failed: 0, dead: 0 }, { durationMs: 1, events: [], publishedSeqs: [], deadSeqs: [], failures: [] }, now);

    const samples = parseMetrics(await first.registry.metrics());
    expect(value(samples, 'outbox_relay_events_published_total', { topic: 'orders' })).toBe(2);
    expect(value(samples, 'outbox_relay_events_published_total', { topic: 'users' })).toBe(1);
    // Empty polls are not batches.
    expect(value(samples, 'outbox_relay_batch_size_events_count')).toBe(1);
    expect(value(samples, 'outbox_relay_batch_duration_seconds_sum')).toBeCloseTo(0.04);
    // 2 s + 0.5 s + 0 (a created_at 50 ms in the future, from clock skew, counts as 0).
    expect(value(samples, 'outbox_relay_publish_lag_seconds_sum')).toBeCloseTo(2.5);
    expect(value(samples, 'outbox_relay_publish_lag_seconds_bucket', { le: '0.01' })).toBe(1);
    expect(value(samples, 'outbox_relay_up')).toBe(1);
    expect(parseMetrics(await second.registry.metrics()).has('outbox_relay_events_published_total{topic="orders"}')).toBe(false);
    expect(samples.has('process_resident_memory_bytes')).toBe(true);
  });

  it('counts dead events by topic, failed batches as transient, and zero-initialises the reasons', async () => {
    const metrics = createRelayMetrics({ processMetrics: false });
    let samples = parseMetrics(await metrics.registry.metrics());
    expect(samples.get('outbox_relay_publish_failures_total{reason="permanent"}')).toBe(0);
    expect(value(samples, 'outbox_relay_up')).toBe(0);

    const events = [event(7, 'orders', new Date()), event(8, 'orders', new Date())];
    metrics.observeBatch({ claimed: 2, published: 0, failed: 2, dead: 1 }, { durationMs: 5, events, publishedSeqs: [], deadSeqs: ['7'], failures: [{ seq: '7', kind: 'permanent' }, { seq: '8', kind: 'event' }] });
    metrics.observeBatchError();
    metrics.observeBatchError();
    samples = parseMetrics(await metrics.registry.metrics());
    expect(value(samples, 'outbox_relay_events_dead_total', { topic: 'orders' })).toBe(1);
    expect(value(samples, 'outbox_relay_publish_failures_total', { reason: 'permanent' })).toBe(1);
    expect(value(samples, 'outbox_relay_publish_failures_total', { reason: 'event' })).toBe(1);
    expect(value(samples, 'outbox_relay_publish_failures_total', { reason: 'transient' })).toBe(2);
    expect(value(samples, 'outbox_relay_up')).toBe(0);
  });

  it('counts refused events by the kind the relay reported', () => {
    const counted: [string, number][] = [];
    const failures = [{ seq: '1', kind: 'event' as const }, { seq: '2', kind: 'event' as const }, { seq: '3', kind: 'permanent' as const }];
    countEventFailures({ failures }, (reason, n) => counted.push([reason, n]));
    expect(counted).toEqual([['event', 2], ['permanent', 1]]);
  });
});

describe('summary window', () => {
  it('sums a period, computes the rate and starts afresh', () => {
    const c = clock();
    const window = new SummaryWindow(c.now);
    window.recordBatch({ claimed: 500, published: 498, failed: 2, dead: 1 });
    window.recordBatch({ claimed: 102, published: 102, failed: 0, dead: 0 });
    window.recordBatchError();
    c.advance(60_000);
    expect(window.take({ pending: 1_234, oldestAgeSeconds: 3.14159 })).toEqual({
      periodSeconds: 60, published: 600, perSecond: 10, failed: 2, dead: 1, failedBatches: 1, backlog: 1_234, oldestPendingAgeSeconds: 3.1,
    });
    c.advance(30_000);
    expect(window.take(undefined)).toMatchObject({ periodSeconds: 30, published: 0, perSecond: 0, backlog: null, oldestPendingAgeSeconds: null });
  });
});
