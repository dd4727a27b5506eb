import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, InvalidEventError } from '../../src/errors.js';
import { writeManyWithOutbox, writeWithOutbox, type Queryable } from '../../src/outbox/write.js';
import { createRelay, type RelayOptions } from '../../src/relay/relay.js';
import { countRows, createTestSchema, databaseUrl, inTransaction, type TestSchema } from '../helpers/db.js';
import { kafka, kafkaBrokers, randomTopic } from '../helpers/kafka.js';
import { runCli } from '../helpers/relayProcess.js';

// End to end, every bad input must be refused with an error naming what is wrong, and leave no trace: no row in the
// table, no message in Kafka, not even the topic (a relay that got as far as publishing would auto-create it).
// test/unit/event.test.ts and test/unit/config.test.ts check the validators' every branch; this checks the promise.

let db: TestSchema;
let topic: string;
const UUID = '0190f5c4-7e1a-7000-8000-00000000beef';
beforeAll(async () => {
  db = await createTestSchema('bad input');
  topic = randomTopic('bad-input');
});
afterAll(async () => db.cleanup());

async function topicExists(name: string): Promise<boolean> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).includes(name);
  } finally {
    await admin.disconnect();
  }
}

type Write = (tx: Queryable, schema: string) => Promise<unknown>;
const one = (event: Record<string, unknown>): Write => (tx, schema) => writeWithOutbox(tx, { topic, payload: 1, ...event } as never, { schema });
const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;

describe('writeWithOutbox refuses bad events before any SQL, and nothing is written', () => {
  it.each<[string, Write, string, RegExp]>([
    ['no topic', one({ topic: undefined }), 'topic', /is required/],
    ['a topic with a slash', one({ topic: 'orders/created' }), 'topic', /\[a-zA-Z0-9._-\]/],
    ['the topic ".."', one({ topic: '..' }), 'topic', /not "\." or "\.\."/],
    ['a 250-character topic', one({ topic: 'x'.repeat(250) }), 'topic', /1–249 characters/],
    ['no payload', one({ payload: undefined }), 'payload', /is required/],
    ['a BigInt in the payload', one({ payload: { n: 1n } }), 'payload', /not JSON-serialisable/],
    ['a cyclic payload', one({ payload: cyclic }), 'payload', /not JSON-serialisable/],
    ['a payload over 1 MB', one({ payload: 'x'.repeat(1_000_000) }), 'payload', /too large: 1000002 bytes .* limit is 1000000/],
    ['an id that is not a UUID', one({ id: 'order-1' }), 'id', /must be a UUID/],
    ['a numeric key', one({ key: 42 }), 'key', /must be a string, got number/],
    ['a NUL in the type', one({ type: 'a\u0000b' }), 'type', /NUL/],
    ['headers that are a string', one({ headers: 'tenant=acme' }), 'headers', /must be an object/],
    ['a numeric header value', one({ headers: { retries: 3 } }), 'headers.retries', /string or bytes, got number/],
    ['a header faking the event id', one({ headers: { 'outbox-event-id': UUID } }), 'headers.outbox-event-id', /reserved/],
    ['a misspelt field', one({ aggregateID: 'o-1' }), 'aggregateID', /is not a known field/],
    ['null instead of an event', (tx, schema) => writeWithOutbox(tx, null as never, { schema }), 'event', /must be an object/],
    ['a bad event after two good ones', (tx, schema) => writeManyWithOutbox(tx, [{ topic, payload: 1 }, { topic, payload: 2 }, { topic: 'a b', payload: 3 }], { schema }), 'events[2].topic', /\[a-zA-Z0-9._-\]/],
    ['one id twice in a batch', (tx, schema) => writeManyWithOutbox(tx, [{ topic, payload: 1, id: UUID }, { topic, payload: 2, id: UUID }], { schema }), 'events[1].id', /repeats an id/],
    ['a pool instead of the transaction client', (_tx, schema) => writeWithOutbox(db.pool, { topic, payload: 1 }, { schema }), 'tx', /is a pg\.Pool/],
  ])('%s', async (_name, write, field, message) => {
    await inTransaction(db.pool, async (tx) => {
      const error = await write(tx, db.schema).then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(InvalidEventError);
      expect(error).toMatchObject({ code: 'OUTBOX_INVALID_EVENT', field });
      expect((error as Error).message).toMatch(message);
      // No statement failed in the caller's transaction (that would have aborted it): validation came first.
      await tx.query('SELECT 1');
    });
    expect(await countRows(db.pool, db.schema)).toBe(0);
  });

  it('refuses a schema name that is not a plain identifier, before any SQL', async () => {
    await inTransaction(db.pool, async (tx) => {
      await expect(writeWithOutbox(tx, { topic, payload: 1 }, { schema: 'public; DROP TABLE x' })).rejects.toThrow(/schema must be a plain SQL identifier/);
      await tx.query('SELECT 1');
    });
    expect(await countRows(db.pool, db.schema)).toBe(0);
  });
});

describe('bad relay configuration is refused before anything is published', () => {
  const pendingId = '0190f5c4-7e1a-7000-8000-00000000cafe';
  const configDir = mkdtempSync(path.join(tmpdir(), 'outbox-bad-input-'));
  const file = (name: string, text: string) => {
    const p = path.join(configDir, name);
    writeFileSync(p, text);
    return p;
  };
  beforeAll(async () => {
    // One committed event waits for a relay: any relay that started would publish it (and create the topic).
    await inTransaction(db.pool, (tx) => writeWithOutbox(tx, { id: pendingId, topic, payload: 'must stay unpublished' }, { schema: db.schema }));
  });
  afterAll(async () => {
    rmSync(configDir, { recursive: true, force: true });
    expect(await countRows(db.pool, db.schema, 'published_at IS NULL AND attempts = 0')).toBe(1);
    expect(await topicExists(topic)).toBe(false);
  });

  it.each<[string, Partial<RelayOptions>, RegExp]>([
    ['a batch size of 0 (it claimed nothing, ~2,500 times/s)', { batchSize: 0 }, /batchSize must be a whole number from 1 to 10000, got 0/],
    ['a poll interval of 0 ms', { pollIntervalMs: 0 }, /pollIntervalMs must be a whole number from 10/],
    ['a publish timeout of 50 ms', { publishTimeoutMs: 50 }, /publishTimeoutMs must be a whole number from 100/],
    ['a fractional max attempts', { maxAttempts: 2.5 }, /maxAttempts must be a whole number/],
    ['a schema with a dash', { schema: 'my-outbox' }, /schema must be a plain SQL identifier/],
  ])('createRelay: %s', (_name, options, message) => {
    const create = () => createRelay({ databaseUrl: databaseUrl(), kafka: { brokers: kafkaBrokers(), clientId: 'bad-input' }, schema: db.schema, ...options });
    expect(create).toThrow(ConfigError);
    expect(create).toThrow(message);
  });

  const flags = (...args: string[]) => ({ args, env: {} as Record<string, string> });
  const env = (vars: Record<string, string>) => ({ args: [] as string[], env: vars });
  it.each<[string, { args: string[]; env: Record<string, string> }, RegExp]>([
    ['--batch-size 0', flags('--batch-size', '0'), /--batch-size must be a whole number from 1 to 10000, got "0"/],
    ['--poll-interval 5', flags('--poll-interval', '5'), /--poll-interval must be a whole number from 10/],
    ['--publish-timeout 2s', flags('--publish-timeout', '2s'), /--publish-timeout must be a whole number/],
    ['--max-attempts 0', flags('--max-attempts', '0'), /--max-attempts must be a whole number from 1/],
    ['--retention soon', flags('--retention', 'soon'), /--retention must be a duration like 7d/],
    ['--log-level loud', flags('--log-level', 'loud'), /--log-level must be one of fatal, error/],
    ['--metrics-port 70000', flags('--metrics-port', '70000'), /--metrics-port must be a whole number from 0 to 65535/],
    ['--kafka-sasl-mechanism without credentials', flags('--kafka-sasl-mechanism', 'plain'), /--kafka-sasl-username and --kafka-sasl-password are required/],
    ['a MySQL database URL', flags('--database-url', 'mysql://root@127.0.0.1/app'), /--database-url must use the postgres:\/\/ or postgresql:\/\/ scheme/],
    ['KAFKA_BROKERS without a port', env({ KAFKA_BROKERS: 'localhost' }), /KAFKA_BROKERS has "localhost", expected host:port/],
    ['no KAFKA_BROKERS at all', env({ KAFKA_BROKERS: '' }), /--kafka-brokers \/ KAFKA_BROKERS is required/],
    ['OUTBOX_POLL_ONLY=maybe', env({ OUTBOX_POLL_ONLY: 'maybe' }), /OUTBOX_POLL_ONLY must be true or false, got "maybe"/],
    ['a config file with a misspelt key', flags('--config', file('typo.json', '{"batchsize": 5}')), /has an unknown option "batchsize"/],
    ['a config file that is not JSON', flags('--config', file('broken.json', '{batchSize: 5')), /is not valid JSON/],
    ['a misspelt flag', flags('--batchsize', '5'), /unknown option '--batchsize'/],
  ])('outbox-relay run with %s exits 2 naming the option', async (_name, input, message) => {
    const result = await runCli(['run', '--schema', db.schema, ...input.args], { DATABASE_URL: databaseUrl(), KAFKA_BROKERS: kafkaBrokers().join(','), ...input.env });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    const { rows } = await db.pool.query<{ published_at: Date | null }>(`SELECT published_at FROM ${pg.escapeIdentifier(db.schema)}.outbox_events WHERE id = $1`, [pendingId]);
    expect(rows[0]?.published_at).toBeNull();
  });
});
