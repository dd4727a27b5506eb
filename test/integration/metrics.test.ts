import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRelay, type Relay, type RelayOptions } from '../../src/relay/relay.js';
import { writeManyWithOutbox } from '../../src/outbox/write.js';
import { createObservability, type Observability } from '../../src/observe/observability.js';
import { countRows, createTestSchema, databaseUrl, inTransaction, type TestSchema } from '../helpers/db.js';
import { consumeTopic, createTopic, kafka, kafkaBrokers, randomTopic } from '../helpers/kafka.js';
import { waitFor } from '../helpers/relayProcess.js';
import { scrape, value } from '../helpers/scrape.js';

let db: TestSchema;
let relay: Relay | undefined;
let obs: Observability | undefined;
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => {
  await relay?.stop();
  await obs?.stop();
  relay = obs = undefined;
  await db.cleanup();
});

async function startObservedRelay(options: Partial<RelayOptions> = {}): Promise<string> {
  const kafkaOptions = { brokers: kafkaBrokers(), clientId: 'metrics-test' };
  obs = createObservability({ databaseUrl: databaseUrl(), kafka: kafkaOptions, schema: db.schema, sampleIntervalMs: 100, processMetrics: false });
  const server = await obs.listen({ port: 0, host: '127.0.0.1' });
  obs.start();
  relay = createRelay({ databaseUrl: databaseUrl(), kafka: kafkaOptions, schema: db.schema, batchSize: 20, pollIntervalMs: 50, observer: obs.observer, ...options });
  await relay.start();
  return server.url;
}

function write(topic: string, n: number, from = 0): Promise<string[]> {
  const events = Array.from({ length: n }, (_, i) => ({ topic, payload: { n: from + i } }));
  return inTransaction(db.pool, (tx) => writeManyWithOutbox(tx, events, { schema: db.schema }));
}

const PUBLISHED = 'outbox_relay_events_published_total';

describe('/metrics during a real relay run', () => {
  it('moves the published counter by exactly the number of events published, per topic', async () => {
    const [a, b] = [randomTopic('metrics-a'), randomTopic('metrics-b')];
    await Promise.all([createTopic(a, 2), createTopic(b, 1)]);
    await write(a, 37);
    await write(b, 5);
    const url = await startObservedRelay();

    await waitFor(async () => (await countRows(db.pool, db.schema, 'published_at IS NULL')) === 0, 'first 42 events published');
    let samples = await scrape(url);
    expect(value(samples, PUBLISHED, { topic: a })).toBe(37);
    expect(value(samples, PUBLISHED, { topic: b })).toBe(5);
    // 42 events in batches of at most 20: at least 3 batches, and every event's lag observed once.
    expect(value(samples, 'outbox_relay_batch_size_events_sum')).toBe(42);
    expect(value(samples, 'outbox_relay_batch_size_events_count')).toBeGreaterThanOrEqual(3);
    expect(value(samples, 'outbox_relay_publish_lag_seconds_count')).toBe(42);
    expect(value(samples, 'outbox_relay_batch_duration_seconds_count')).toBe(value(samples, 'outbox_relay_batch_size_events_count'));
    expect(value(samples, 'outbox_relay_up')).toBe(1);

    await write(a, 13, 37);
    await waitFor(async () => (await countRows(db.pool, db.schema, 'published_at IS NULL')) === 0, '13 more events published');
    samples = await scrape(url);
    expect(value(samples, PUBLISHED, { topic: a })).toBe(50);
    expect(value(samples, PUBLISHED, { topic: b })).toBe(5);
    // The counter matches what Kafka holds.
    expect(await consumeTopic(a, 50)).toHaveLength(50);
    expect(value(samples, 'outbox_relay_publish_failures_total', { reason: 'transient' })).toBe(0);
    expect(value(samples, 'outbox_relay_events_dead_total', { topic: a })).toBe(0);
  });

  it('samples the backlog and the age of the oldest pending event from the table', async () => {
    const topic = randomTopic('metrics-backlog');
    await createTopic(topic, 1);
    await write(topic, 25);
    await db.pool.query(`UPDATE ${db.schema}.outbox_events SET created_at = now() - interval '90 seconds' WHERE seq = (SELECT min(seq) FROM ${db.schema}.outbox_events)`);
    const kafkaOptions = { brokers: kafkaBrokers(), clientId: 'metrics-test' };
    const limited = createObservability({ databaseUrl: databaseUrl(), kafka: kafkaOptions, schema: db.schema, processMetrics: false, backlogCountLimit: 10 });
    const full = createObservability({ databaseUrl: databaseUrl(), kafka: kafkaOptions, schema: db.schema, processMetrics: false });
    try {
      // The count stops at the limit, so a huge backlog costs a bounded index scan.
      expect(await limited.sample()).toMatchObject({ pending: 10 });
      const stats = await full.sample();
      expect(stats?.pending).toBe(25);
      expect(stats?.oldestAgeSeconds).toBeGreaterThanOrEqual(90);
      expect(stats?.oldestAgeSeconds).toBeLessThan(120);
    } finally {
      await Promise.all([limited.stop(), full.stop()]);
    }

    const url = await startObservedRelay();
    await waitFor(async () => {
      const samples = await scrape(url);
      return value(samples, 'outbox_relay_backlog_events') === 0 && value(samples, PUBLISHED, { topic }) === 25;
    }, 'backlog gauge back to 0 after publishing');
    const samples = await scrape(url);
    expect(value(samples, 'outbox_relay_oldest_pending_age_seconds')).toBe(0);
    expect(value(samples, 'outbox_relay_connected', { target: 'postgres' })).toBe(1);
    expect(value(samples, 'outbox_relay_connected', { target: 'kafka' })).toBe(1);
  });

  it('counts an event Kafka refuses for good as a permanent failure and a dead event', async () => {
    const topic = randomTopic('metrics-dead');
    const admin = kafka().admin();
    await admin.connect();
    try {
      // The broker refuses any record batch over 1,000 bytes on this topic (MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE).
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '1000' }] }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    await inTransaction(db.pool, (tx) => writeManyWithOutbox(tx, [{ topic, payload: { big: 'x'.repeat(5_000) } }, { topic, payload: { small: true } }], { schema: db.schema }));
    const url = await startObservedRelay({ maxAttempts: 1 });

    await waitFor(async () => (await countRows(db.pool, db.schema, 'published_at IS NULL AND dead_at IS NULL')) === 0, 'one event published, one dead');
    const samples = await scrape(url);
    expect(value(samples, 'outbox_relay_events_dead_total', { topic })).toBe(1);
    expect(value(samples, 'outbox_relay_publish_failures_total', { reason: 'permanent' })).toBe(1);
    expect(value(samples, PUBLISHED, { topic })).toBe(1);
  });
});
