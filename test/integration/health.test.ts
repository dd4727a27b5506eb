import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRelay, type Relay } from '../../src/relay/relay.js';
import { writeWithOutbox } from '../../src/outbox/write.js';
import { createObservability, type Observability, type ObservabilityOptions } from '../../src/observe/observability.js';
import { createTestSchema, databaseUrl, inTransaction, type TestSchema } from '../helpers/db.js';
import { kafkaBrokers, randomTopic } from '../helpers/kafka.js';
import { startPrivateKafka, type PrivateKafka } from '../helpers/privateKafka.js';
import { RelayProcess, runCli, waitFor } from '../helpers/relayProcess.js';
import { freePort, getJson, scrape, value } from '../helpers/scrape.js';

let db: TestSchema;
const cleanups: (() => Promise<void>)[] = [];
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await db.cleanup();
});

async function observe(options: Partial<ObservabilityOptions> = {}): Promise<{ obs: Observability; url: string }> {
  const obs = createObservability({
    databaseUrl: databaseUrl(),
    kafka: { brokers: kafkaBrokers(), clientId: 'health-test' },
    schema: db.schema,
    sampleIntervalMs: 100,
    processMetrics: false,
    ...options,
  });
  cleanups.push(() => obs.stop());
  const server = await obs.listen({ port: 0, host: '127.0.0.1' });
  obs.start();
  return { obs, url: server.url };
}

function relayFor(obs: Observability, brokers = kafkaBrokers()): Relay {
  const relay = createRelay({
    databaseUrl: databaseUrl(),
    kafka: { brokers, clientId: 'health-test' },
    schema: db.schema,
    pollIntervalMs: 50,
    publishTimeoutMs: 1_000,
    backoff: { initialMs: 50, maxMs: 200, factor: 2, jitter: 0 },
    observer: obs.observer,
  });
  cleanups.push(() => relay.stop());
  return relay;
}

/** Holds `check` true for `ms` (several liveness windows), polling; fails at the first false. */
async function holds(check: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    expect(await check()).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('/healthz', () => {
  it('is 200 while the loop turns and 503 once it stops turning', async () => {
    const { obs, url } = await observe({ livenessWindowMs: 500 });
    const relay = relayFor(obs);
    await relay.start();
    // Three windows of 500 ms: an idle loop polling every 50 ms keeps it alive.
    await holds(async () => (await fetch(`${url}/healthz`)).status === 200, 1_500);
    await relay.stop();
    await waitFor(async () => (await fetch(`${url}/healthz`)).status === 503, '/healthz 503 after the loop stopped', 5_000);
    expect((await getJson(`${url}/healthz`)).body).toMatchObject({ status: 'stalled', windowMs: 500 });
  });

  it('stays alive while Kafka is unreachable (a restart would not help), but the up gauge drops to 0', async () => {
    const { obs, url } = await observe({ livenessWindowMs: 1_000 });
    await inTransaction(db.pool, (tx) => writeWithOutbox(tx, { topic: randomTopic('health'), payload: {} }, { schema: db.schema }));
    // Port 1 refuses connections at once: every batch fails and the loop backs off (≤ 200 ms here).
    await relayFor(obs, ['127.0.0.1:1']).start();
    await waitFor(async () => value(await scrape(url), 'outbox_relay_publish_failures_total', { reason: 'transient' }) >= 3, 'three failed batches');
    await holds(async () => (await fetch(`${url}/healthz`)).status === 200, 2_000);
    expect(value(await scrape(url), 'outbox_relay_up')).toBe(0);
  });
});

describe('/readyz', () => {
  let privateKafka: PrivateKafka;
  beforeAll(async () => {
    // Port 19092 (+1 for its controller) is this file's; the shared broker is never stopped.
    privateKafka = await startPrivateKafka({ port: 19092 });
  }, 120_000);
  afterAll(async () => {
    await privateKafka?.destroy();
  });

  it('turns unready when Kafka stops, naming it, and ready again when Kafka returns', async () => {
    const { url } = await observe({ kafka: { brokers: privateKafka.brokers, clientId: 'readyz-test' } });
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, '/readyz 200 with both up', 10_000);

    await privateKafka.stop();
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 503, '/readyz 503 after Kafka stopped', 10_000);
    const { body } = await getJson(`${url}/readyz`);
    expect(body).toMatchObject({ status: 'unready', checks: { postgres: { ok: true }, kafka: { ok: false } } });
    expect(String((body.checks as { kafka: { error: string } }).kafka.error)).toMatch(/ECONNREFUSED|Connection|answer/);
    await waitFor(async () => value(await scrape(url), 'outbox_relay_connected', { target: 'kafka' }) === 0, 'kafka connected gauge 0', 5_000);

    await privateKafka.start();
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, '/readyz 200 after Kafka returned', 30_000);
    await waitFor(async () => value(await scrape(url), 'outbox_relay_connected', { target: 'kafka' }) === 1, 'kafka connected gauge 1', 5_000);
  });

  it('names PostgreSQL when the database is unreachable', async () => {
    const { url } = await observe({ databaseUrl: 'postgres://postgres@127.0.0.1:1/test' });
    const { status, body } = await getJson(`${url}/readyz`);
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: 'unready', checks: { postgres: { ok: false }, kafka: { ok: true } } });
  });
});

describe('outbox-relay run --metrics-port', () => {
  it('serves /metrics, /healthz and /readyz while running and closes the port on SIGTERM', async () => {
    const port = await freePort();
    const relay = new RelayProcess(db.schema, ['--metrics-port', String(port)]);
    cleanups.push(async () => void (await relay.kill()));
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200, `/healthz on ${url}\n${relay.output}`);
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, '/readyz 200');
    // outbox_relay_up turns 1 with the first finished claim, which may come just after the probes answer.
    await waitFor(async () => value(await scrape(url), 'outbox_relay_up') === 1, 'outbox_relay_up 1', 10_000);
    expect((await scrape(url)).has('process_cpu_user_seconds_total')).toBe(true);

    relay.child.kill('SIGTERM');
    expect(await relay.waitForExit()).toEqual({ code: 0, signal: null });
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('exits 2 naming --metrics-port when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())));
    const { port } = blocker.address() as { port: number };
    const result = await runCli(['run', '--schema', db.schema, '--metrics-port', String(port)], { DATABASE_URL: databaseUrl(), KAFKA_BROKERS: kafkaBrokers().join(',') });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--metrics-port.*EADDRINUSE/);
  });
});
