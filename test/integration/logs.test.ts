import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRelay } from '../../src/relay/relay.js';
import { writeManyWithOutbox } from '../../src/outbox/write.js';
import { createObservability } from '../../src/observe/observability.js';
import { createLogger } from '../../src/log.js';
import { countRows, createTestSchema, databaseUrl, inTransaction, type TestSchema } from '../helpers/db.js';
import { createTopic, kafkaBrokers, randomTopic } from '../helpers/kafka.js';
import { RelayProcess, waitFor } from '../helpers/relayProcess.js';
import { freePort } from '../helpers/scrape.js';

// The test server trusts local connections, so it ignores this password: the relay runs normally while holding it.
const PASSWORD = 'Sup3r-S3cret_pw-4242';

let db: TestSchema;
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => {
  await db.cleanup();
});

function urlWithPassword(): string {
  const url = new URL(databaseUrl());
  url.password = PASSWORD;
  return url.toString();
}

async function writeEvents(n: number): Promise<void> {
  const topic = randomTopic('logs');
  await createTopic(topic, 1);
  await inTransaction(db.pool, (tx) => writeManyWithOutbox(tx, Array.from({ length: n }, (_, i) => ({ topic, payload: { i } })), { schema: db.schema }));
}

function expectNoPassword(output: string): void {
  expect(output.length).toBeGreaterThan(0);
  for (const form of [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(PASSWORD).toString('base64')]) {
    expect(output).not.toContain(form);
  }
}

describe('the run command never logs the database password', () => {
  it('at debug level, with events flowing and the metrics server on', async () => {
    await writeEvents(30);
    const relay = new RelayProcess(db.schema, ['--log-level', 'debug', '--batch-size', '10', '--metrics-port', String(await freePort())], { DATABASE_URL: urlWithPassword() });
    try {
      await waitFor(async () => (await countRows(db.pool, db.schema, 'published_at IS NULL')) === 0, 'all events published');
      await waitFor(() => relay.output.includes('batch published'), 'a debug batch line');
    } finally {
      relay.child.kill('SIGTERM');
      await relay.waitForExit();
    }
    expectNoPassword(relay.output);
    // Not a JSON-only accident: the connection string is logged, with its password masked.
    expect(relay.output).toContain('postgres://postgres:***@');
    const lines = relay.output.trim().split('\n');
    // stdout is a pipe here, so every line is JSON (pretty output is for terminals only).
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.some((l) => JSON.parse(l).level === 20)).toBe(true);
  });

  it('when every batch fails (the schema is missing) and errors are logged', async () => {
    const relay = new RelayProcess('no_such_schema_here', ['--log-level', 'debug', '--poll-interval', '50'], { DATABASE_URL: urlWithPassword() });
    try {
      await waitFor(() => (relay.output.match(/batch failed/g) ?? []).length >= 2, `two failed batches logged\n${relay.output}`);
    } finally {
      relay.child.kill('SIGTERM');
      await relay.waitForExit();
    }
    expectNoPassword(relay.output);
    expect(relay.output).toMatch(/no_such_schema_here/);
  });
});

describe('the periodic summary', () => {
  it('logs at info how many events were published and the backlog', async () => {
    await writeEvents(12);
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    const kafka = { brokers: kafkaBrokers(), clientId: 'logs-test' };
    const obs = createObservability({ databaseUrl: urlWithPassword(), kafka, schema: db.schema, logger, sampleIntervalMs: 50, summaryIntervalMs: 300, processMetrics: false });
    const relay = createRelay({ databaseUrl: urlWithPassword(), kafka, schema: db.schema, pollIntervalMs: 50, observer: obs.observer, logger });
    obs.start();
    await relay.start();
    try {
      const summaries = () => lines.filter((l) => l.msg === 'relay summary');
      const publishedSoFar = () => summaries().reduce((sum, l) => sum + Number(l.published), 0);
      await waitFor(() => publishedSoFar() === 12 && summaries().at(-1)?.backlog === 0, 'summaries adding up to 12 published, backlog 0', 15_000);
      expect(summaries().at(-1)).toMatchObject({ level: 30, failed: 0, dead: 0, failedBatches: 0, oldestPendingAgeSeconds: 0 });
      // No per-batch lines at info: the summary is what an operator reads.
      expect(lines.some((l) => l.msg === 'batch published')).toBe(false);
    } finally {
      await relay.stop();
      await obs.stop();
    }
    expectNoPassword(JSON.stringify(lines));
  });
});
