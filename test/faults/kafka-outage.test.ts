import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countRows, createTestSchema, type TestSchema } from '../helpers/db.js';
import { assertRunning, consumeEventIds, cpuTimeMs, expectDelivery, oldestClaimMs, printRelayOutputOnFailure } from '../helpers/faultReport.js';
import { createTopic, randomTopic } from '../helpers/kafka.js';
import { startPrivateKafka, type PrivateKafka } from '../helpers/privateKafka.js';
import { RelayProcess, waitFor } from '../helpers/relayProcess.js';
import { startWriter } from '../helpers/writer.js';

// Ports of this file's own broker (+1 for its controller); other files use 19092 (health) and the shared 9092.
const KAFKA_PORT = 19292;
const PUBLISH_TIMEOUT_MS = 2_000;
// A claim transaction may outlive the publish timeout by the ROLLBACK and a busy 2-core machine's scheduling; the
// relay's own backstop (idle_in_transaction_session_timeout) would only end it at 2 × 2,000 + 5,000 = 9,000 ms.
const LOCK_MARGIN_MS = 1_500;
const OUTAGE_MS = 20_000;
const BATCH_SIZE = 50;

let kafka: PrivateKafka;
let db: TestSchema;
let relay: RelayProcess | undefined;
let writer: ReturnType<typeof startWriter> | undefined;
beforeAll(async () => {
  kafka = await startPrivateKafka({ port: KAFKA_PORT });
});
afterAll(async () => kafka?.destroy());
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => {
  await relay?.kill('SIGKILL');
  await writer?.stop().catch(() => undefined);
  await db.cleanup();
});

/** The relay's "batch failed; backing off" log lines: when, and the backoff it chose. */
function backoffLog(output: string): { at: number; retryInMs: number }[] {
  return output
    .split('\n')
    .filter((line) => line.includes('"batch failed; backing off"'))
    .map((line) => JSON.parse(line) as { time: number; retryInMs: number })
    .map((entry) => ({ at: entry.time, retryInMs: entry.retryInMs }));
}

const published = () => {
  assertRunning(relay!);
  return countRows(db.pool, db.schema, 'published_at IS NOT NULL');
};
const pending = () => countRows(db.pool, db.schema, 'published_at IS NULL');

describe('Kafka outage', () => {
  it('keeps running, holds no row locks, stays idle and catches up by itself when the broker returns', async () => {
    const topic = randomTopic('outage');
    await createTopic(topic, 3, { brokers: kafka.brokers });
    writer = startWriter(db.pool, db.schema, topic, { pauseMs: 5 });
    relay = new RelayProcess(db.schema, ['--batch-size', String(BATCH_SIZE), '--poll-interval', '100', '--publish-timeout', String(PUBLISH_TIMEOUT_MS)], {
      KAFKA_BROKERS: kafka.brokers.join(','),
    });
    printRelayOutputOnFailure(() => [relay]);
    const pid = relay.child.pid!;
    await waitFor(async () => (await published()) >= 300, 'the relay to publish 300 events before the outage', 60_000);

    // Stop the broker at a random moment of the stream, with batches in flight.
    await new Promise((r) => setTimeout(r, Math.random() * 500));
    await kafka.stop();
    const outageStart = Date.now();
    const cpuBefore = cpuTimeMs(pid);
    let oldestClaim = 0;
    while (Date.now() - outageStart < OUTAGE_MS) {
      oldestClaim = Math.max(oldestClaim, await oldestClaimMs(db.pool, db.schema));
      await new Promise((r) => setTimeout(r, 100));
    }
    const outageMs = Date.now() - outageStart;
    const cpuPercent = ((cpuTimeMs(pid) - cpuBefore) / outageMs) * 100;
    const backlog = await pending();
    const outageFailures = backoffLog(relay.output).length;

    await kafka.start(); // ~5-8 s of JVM start, during which the relay's attempts still fail
    const back = Date.now();
    // The relay retries at the end of the backoff it scheduled after its last failure, not before (a NOTIFY does not
    // cut a backoff short), and not much after: that attempt connects afresh and publishes within the publish timeout.
    const failures = backoffLog(relay.output);
    const lastFailure = failures[failures.length - 1]!;
    const retryDueMs = Math.max(0, lastFailure.at + lastFailure.retryInMs - back);
    const publishedAtReturn = await published();
    await waitFor(async () => (await published()) > publishedAtReturn, 'the first publish after Kafka returned', 60_000, 100);
    const firstPublishMs = Date.now() - back;
    const stats = await writer.stop();
    await waitFor(async () => (await pending()) === 0, 'the backlog to drain after Kafka returned', 60_000, 100);
    const drainMs = Date.now() - back;

    expect(relay.child.exitCode, relay.output.slice(-2_000)).toBeNull();
    expect(relay.child.pid).toBe(pid);
    expect((await relay.kill('SIGTERM')).code).toBe(0);
    const ids = await consumeEventIds(kafka.brokers, topic);
    // Each batch that failed mid-publish may have reached Kafka in part before the broker went away.
    const report = expectDelivery('kafka outage', ids, stats, failures.length * BATCH_SIZE, {
      outageMs,
      backlogAtReturn: backlog,
      failedBatches: `${outageFailures}+${failures.length - outageFailures}`,
      retryDueMs,
      relayCpuPercent: cpuPercent.toFixed(1),
      oldestClaimMs: Math.round(oldestClaim),
      firstPublishMs,
      drainMs,
    });
    expect(report.committed).toBeGreaterThan(backlog);
    // The writers kept committing during the outage, so there was work the relay could not do.
    expect(backlog).toBeGreaterThan(BATCH_SIZE);
    expect(oldestClaim).toBeLessThan(PUBLISH_TIMEOUT_MS + LOCK_MARGIN_MS);
    // An idle Node process uses ~0.1 % of a core; a relay retrying in a tight loop uses 50-100 %.
    expect(cpuPercent).toBeLessThan(10);
    // 300 ms ×2 up to 5 s (−20 % jitter at worst) fits 8-10 attempts into 20 s; a retry per commit made 38.
    expect(outageFailures).toBeLessThanOrEqual(12);
    expect(firstPublishMs).toBeLessThan(retryDueMs + PUBLISH_TIMEOUT_MS + 2_000);
    // Within seconds: the backoff's cap (5 s + 20 % jitter), a publish timeout, and 2 s of a busy machine.
    expect(firstPublishMs).toBeLessThan(6_000 + PUBLISH_TIMEOUT_MS + 2_000);
  });
});
