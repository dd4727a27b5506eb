import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRelay, type Relay } from '../../src/relay/relay.js';
import { writeManyWithOutbox } from '../../src/outbox/write.js';
import { createTestSchema, databaseUrl, inTransaction, type TestSchema } from '../helpers/db.js';
import { createTopic, kafkaBrokers, randomTopic } from '../helpers/kafka.js';
import { waitFor } from '../helpers/relayProcess.js';

const CONSUMER = fileURLToPath(new URL('../fixtures/balance-consumer.mjs', import.meta.url));
const EVENTS = 3_000;
const KILLS = 4;

let db: TestSchema;
let relay: Relay | undefined;
const consumers: ChildProcess[] = [];
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => {
  for (const c of consumers.splice(0)) c.kill('SIGKILL');
  await relay?.stop();
  await db.cleanup();
});

function startConsumer(topic: string, groupId: string): ChildProcess {
  const child = spawn(process.execPath, [CONSUMER, db.schema, topic, groupId], {
    env: { ...process.env, DATABASE_URL: databaseUrl(), KAFKA_BROKERS: kafkaBrokers().join(',') },
    stdio: 'ignore',
  });
  consumers.push(child);
  return child;
}

describe('consumer SIGKILLed repeatedly', () => {
  it('applies every event exactly once: redeliveries after a crash are skipped by event ID', async () => {
    const topic = randomTopic('consumer-kills');
    await createTopic(topic, 3);
    await db.pool.query(`CREATE TABLE ${db.schema}.balances (account text PRIMARY KEY, total bigint NOT NULL)`);
    await db.pool.query(`CREATE TABLE ${db.schema}.applications (event_id uuid NOT NULL)`);
    await db.pool.query(`CREATE TABLE ${db.schema}.deliveries (at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    await db.pool.query(`INSERT INTO ${db.schema}.balances SELECT 'acct-' || g, 0 FROM generate_series(0, 9) g`);
    for (let i = 0; i < EVENTS; i += 100) {
      await inTransaction(db.pool, (tx) =>
        writeManyWithOutbox(tx, Array.from({ length: 100 }, (_, j) => ({ topic, key: `acct-${(i + j) % 10}`, payload: { account: `acct-${(i + j) % 10}`, amount: i + j } })), { schema: db.schema }),
      );
    }
    relay = createRelay({ databaseUrl: databaseUrl(), kafka: { brokers: kafkaBrokers(), clientId: 'test' }, schema: db.schema, batchSize: 100 });
    await relay.start();

    const applied = async () => Number((await db.pool.query(`SELECT count(*) AS n FROM ${db.schema}.applications`)).rows[0].n);
    const groupId = `balances-${randomBytes(4).toString('hex')}`;
    let consumer = startConsumer(topic, groupId);
    for (let k = 0; k < KILLS; k++) {
      // Kill while it is applying: after it made some progress, at a random moment.
      const before = await applied();
      await waitFor(async () => (await applied()) >= Math.min(EVENTS, before + 50), 'the consumer to apply more events', 60_000, 20);
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      consumer.kill('SIGKILL');
      consumer = startConsumer(topic, groupId);
    }
    await waitFor(async () => (await applied()) >= EVENTS, 'every event applied', 120_000, 100);

    const { rows } = await db.pool.query(`SELECT count(*)::int AS applications, count(DISTINCT event_id)::int AS events FROM ${db.schema}.applications`);
    const { rows: totals } = await db.pool.query(`SELECT sum(total)::bigint AS sum FROM ${db.schema}.balances`);
    const { rows: processed } = await db.pool.query(`SELECT count(*)::int AS n FROM ${db.schema}.processed_messages WHERE consumer = 'balances'`);
    const { rows: deliveries } = await db.pool.query(`SELECT count(*)::int AS n FROM ${db.schema}.deliveries`);
    console.log(`[faults] consumer sigkill x${KILLS}: events=${EVENTS} deliveries=${deliveries[0].n} applications=${rows[0].applications} distinct=${rows[0].events} processed_rows=${processed[0].n}`);
    expect(deliveries[0].n).toBeGreaterThanOrEqual(EVENTS);
    expect(rows[0]).toEqual({ applications: EVENTS, events: EVENTS });
    expect(Number(totals[0].sum)).toBe((EVENTS * (EVENTS - 1)) / 2);
    expect(processed[0].n).toBe(EVENTS);
  });
});
