import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRelay } from '../../src/relay/relay.js';
import { countRows, createTestSchema, databaseUrl, type TestSchema } from '../helpers/db.js';
import { consumeEventIds, expectDelivery, printRelayOutputOnFailure } from '../helpers/faultReport.js';
import { createTopic, kafkaBrokers, randomTopic } from '../helpers/kafka.js';
import { RelayProcess, waitFor } from '../helpers/relayProcess.js';
import { startWriter } from '../helpers/writer.js';

let db: TestSchema;
let relay: RelayProcess | undefined;
let writer: ReturnType<typeof startWriter> | undefined;
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => {
  await relay?.kill('SIGKILL');
  await writer?.stop().catch(() => undefined);
  await db.cleanup();
});

// writeWithOutbox validates headers, but the table also takes rows from psql, backfills and other ORMs. These are
// valid jsonb the relay cannot turn into Kafka headers (a value must be a string or {"base64": …}).
const MALFORMED_HEADERS = ['{"n": 5}', '{"b": {"base64": 5}}', 'null', '[{"x": 1}]'];

describe('internal errors', () => {
  it('sets a row it cannot turn into a Kafka message aside as dead, instead of crash-looping on it', async () => {
    const topic = randomTopic('malformed');
    await createTopic(topic, 3);
    writer = startWriter(db.pool, db.schema, topic, { pauseMs: 5 });
    relay = new RelayProcess(db.schema, ['--batch-size', '50', '--poll-interval', '100']);
    printRelayOutputOnFailure(() => [relay]);
    const pid = relay.child.pid!;
    await waitFor(async () => (await countRows(db.pool, db.schema, 'published_at IS NOT NULL')) >= 200, '200 events published', 60_000);

    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO ${pg.escapeIdentifier(db.schema)}.outbox_events (id, topic, payload, headers)
SELECT gen_random_uuid(), $1, '\\x7b7d', h::jsonb FROM unnest($2::text[]) AS h RETURNING id::text`,
      [topic, MALFORMED_HEADERS],
    );
    const malformed = rows.map((r) => r.id);
    await waitFor(async () => (await countRows(db.pool, db.schema, `id = ANY('{${malformed.join(',')}}') AND dead_at IS NOT NULL`)) === malformed.length, 'the malformed rows to go dead', 30_000);
    // The stream goes on behind them.
    const after = await countRows(db.pool, db.schema, 'published_at IS NOT NULL');
    await waitFor(async () => (await countRows(db.pool, db.schema, 'published_at IS NOT NULL')) >= after + 200, '200 more events published', 60_000);
    const stats = await writer.stop();
    await waitFor(async () => (await countRows(db.pool, db.schema, 'published_at IS NULL AND dead_at IS NULL')) === 0, 'the backlog to drain', 60_000);

    expect(relay.child.exitCode, relay.output.slice(-2_000)).toBeNull();
    expect(relay.child.pid).toBe(pid);
    expect((await relay.kill('SIGTERM')).code).toBe(0);
    const dead = await db.pool.query<{ attempts: number; last_error: string; published_at: Date | null }>(
      `SELECT attempts, last_error, published_at FROM ${pg.escapeIdentifier(db.schema)}.outbox_events WHERE id = ANY($1::uuid[])`,
      [malformed],
    );
    for (const row of dead.rows) {
      // Dead at the first attempt: the stored bytes never change, so retrying cannot help (an operator can fix the row
      // and `outbox-relay dead retry` it).
      expect(row).toMatchObject({ attempts: 1, published_at: null });
      expect(row.last_error).toMatch(/cannot be made into a Kafka message/);
    }
    const ids = await consumeEventIds(kafkaBrokers(), topic);
    expect(ids.filter((id) => id !== undefined && malformed.includes(id))).toEqual([]);
    expectDelivery('malformed rows', ids, stats, 0, { malformedDead: dead.rows.length });
  });

  it('ends `finished` with a programming error instead of retrying it (the CLI then exits 1)', async () => {
    // No input reaches such an error from outside any more (the malformed-row case above was the last one found), so
    // this uses the one real way left: embedder code in a hook that throws. Retrying a bug would spin forever.
    const relayInProcess = createRelay({
      databaseUrl: databaseUrl(),
      kafka: { brokers: kafkaBrokers(), clientId: 'faults-internal-error' },
      schema: db.schema,
      observer: {
        onBatch() {
          throw new TypeError('observer bug');
        },
      },
    });
    await relayInProcess.start();
    await expect(relayInProcess.finished).rejects.toThrow(TypeError);
    await relayInProcess.stop();
  });
});
