import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/migrate.js';
import { writeManyWithOutbox, writeWithOutbox } from '../../src/outbox/write.js';
import { assertRunning, consumeEventIds, expectDelivery, printRelayOutputOnFailure } from '../helpers/faultReport.js';
import { settleUnknown, startRetryingWriter } from '../helpers/faultWriter.js';
import { createTopic, kafkaBrokers, randomTopic } from '../helpers/kafka.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/privatePostgres.js';
import { RelayProcess, waitFor } from '../helpers/relayProcess.js';

const PG_PORT = 5499;
const BATCH_SIZE = 50;
const RESTARTS = 3;
// ~5 s of draining at the ~4,000 events/s one relay publishes here.
const SEEDED = 20_000;

let postgres: PrivatePostgres;
let pool: pg.Pool;
let relay: RelayProcess | undefined;
let writer: ReturnType<typeof startRetryingWriter> | undefined;
beforeAll(async () => {
  postgres = await startPrivatePostgres({ port: PG_PORT });
  pool = new pg.Pool({ connectionString: postgres.url, max: 4 });
  // Idle connections die with every restart; the pool replaces them.
  pool.on('error', () => undefined);
});
afterEach(async () => {
  await relay?.kill('SIGKILL');
  await writer?.stop().catch(() => undefined);
});
afterAll(async () => {
  await pool?.end();
  await postgres?.destroy();
});

/** A count that answers -1 while PostgreSQL is restarting, instead of failing the wait around it. */
async function count(schema: string, where: string): Promise<number> {
  try {
    const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(schema)}.outbox_events WHERE ${where}`);
    return Number(rows[0]!.n);
  } catch {
    return -1;
  }
}

async function seedBacklog(schema: string, topic: string, events: number): Promise<string[]> {
  const ids: string[] = [];
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    for (let i = 0; i < events; i += 1_000) {
      ids.push(...(await writeManyWithOutbox(tx, Array.from({ length: 1_000 }, (_, j) => ({ topic, payload: { seeded: i + j } })), { schema })));
    }
    await tx.query('COMMIT');
  } finally {
    tx.release();
  }
  return ids;
}

describe('PostgreSQL restarted', () => {
  it('the relay reconnects (pool and LISTEN) and carries on in the same process; nothing lost', async () => {
    const schema = `faults_pg_restart_${randomBytes(4).toString('hex')}`;
    const client = await pool.connect();
    await migrate(client, { schema }).finally(() => client.release());
    const topic = randomTopic('pg-restart');
    await createTopic(topic, 3);
    // A backlog first, so that the restarts find the relay busy (claiming, publishing, marking) rather than idle.
    const seeded = await seedBacklog(schema, topic, SEEDED);
    writer = startRetryingWriter(pool, schema, topic, { pauseMs: 5 });
    // A 60 s poll interval: between full batches only NOTIFY wakes the relay, so it keeps up after a restart only if
    // its LISTEN connection came back too.
    relay = new RelayProcess(schema, ['--batch-size', String(BATCH_SIZE), '--poll-interval', '60000'], { DATABASE_URL: postgres.url });
    const pid = relay.child.pid!;
    printRelayOutputOnFailure(() => [relay]);
    const published = () => {
      assertRunning(relay!);
      return count(schema, 'published_at IS NOT NULL');
    };

    for (let r = 0; r < RESTARTS; r++) {
      const before = await published();
      await waitFor(async () => (await published()) >= before + 200, 'the relay to publish 200 more events', 30_000, 100);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 1_000));
      await postgres.restart('fast');
    }
    const before = await published();
    await waitFor(async () => (await published()) >= before + 200, 'the relay to publish 200 events after the last restart', 30_000, 100);
    const raw = await writer.stop();
    const stats = await settleUnknown(pool, schema, raw, seeded);
    await waitFor(async () => (await count(schema, 'published_at IS NULL')) === 0, 'the backlog to drain', 60_000, 100);

    // One event on an idle relay: published within seconds only through a live LISTEN (the poll would take 60 s).
    const wakeStart = Date.now();
    const id = await (async () => {
      const tx = await pool.connect();
      try {
        await tx.query('BEGIN');
        const written = await writeWithOutbox(tx, { topic, payload: 'after the restarts' }, { schema });
        await tx.query('COMMIT');
        return written;
      } finally {
        tx.release();
      }
    })();
    stats.committed.push(id);
    await waitFor(async () => (await count(schema, 'published_at IS NOT NULL AND payload = \'"after the restarts"\'')) === 1, 'a NOTIFY to wake the relay', 10_000, 50);
    const wakeMs = Date.now() - wakeStart;

    expect(relay.child.exitCode, relay.output.slice(-3_000)).toBeNull();
    expect(relay.child.pid).toBe(pid);
    expect((await relay.kill('SIGTERM')).code).toBe(0);
    const ids = await consumeEventIds(kafkaBrokers(), topic);
    expectDelivery(`postgres restart x${RESTARTS}`, ids, stats, RESTARTS * BATCH_SIZE, {
      restarts: RESTARTS,
      writerErrors: raw.errors,
      commitOutcomeUnknown: raw.unknown.length,
      batchFailures: (relay.output.match(/batch failed; backing off/g) ?? []).length,
      listenReconnects: (relay.output.match(/LISTEN connection failed/g) ?? []).length,
      wakeMs,
    });
    // The restarts really hit the writers and the relay's transactions.
    expect(raw.errors).toBeGreaterThan(0);
    expect(relay.output).toContain('batch failed; backing off');
    await pool.query(`DROP SCHEMA ${pg.escapeIdentifier(schema)} CASCADE`);
  });
});
