#!/usr/bin/env node
// npm run demo: the whole pipeline on this machine, end to end, in about half a minute.
//
//   app (orders + writeWithOutbox, some transactions rolled back)
//     → outbox_events → `outbox-relay run` (SIGKILLed after Kafka acked a batch it had not marked yet, restarted)
//     → Kafka → consumer (idempotentEachMessage: one shipment per order, however often Kafka delivers it)
//   then `outbox-relay replay` republishes everything, and the consumer ignores what it already applied.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { migrate, writeWithOutbox, idempotentEachMessage } from '../dist/index.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const SCHEMA = 'outbox_demo';
const TOPIC = `demo.orders.${randomBytes(3).toString('hex')}`;
const ORDERS = 300;
const CLI = new URL('../bin/outbox-relay.js', import.meta.url).pathname;

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 6 });
const kafka = new Kafka({ clientId: 'outbox-demo', brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
const step = (text) => console.log(`\n▸ ${text}`);

// 1. A fresh schema: the outbox tables plus the app's own tables.
step(`preparing schema "${SCHEMA}" and topic "${TOPIC}"`);
await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
const migrator = await pool.connect();
await migrate(migrator, { schema: SCHEMA });
migrator.release();
await pool.query(`CREATE TABLE ${SCHEMA}.orders (id bigserial PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL)`);
await pool.query(`CREATE TABLE ${SCHEMA}.shipments (order_id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())`);
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }], waitForLeaders: true });

// 2. The consumer: shipping creates one shipment per order.placed event, exactly once.
let delivered = 0;
const consumer = kafka.consumer({ groupId: `demo-shipping-${randomBytes(3).toString('hex')}`, maxWaitTimeInMs: 100 });
await consumer.connect();
await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
await consumer.run({
  eachMessage: (payload) => {
    delivered++;
    return handleOrderPlaced(payload);
  },
});
const handleOrderPlaced = idempotentEachMessage(pool, { consumer: 'shipping', schema: SCHEMA }, async (tx, { message }) => {
  const order = JSON.parse(message.value.toString());
  await tx.query(`INSERT INTO ${SCHEMA}.shipments (order_id) VALUES ($1)`, [order.orderId]);
});

// 3. The relay, as operators run it.
const relayArgs = ['run', '--schema', SCHEMA, '--batch-size', '25', '--log-level', 'warn'];
const env = { ...process.env, DATABASE_URL, KAFKA_BROKERS };
let relay = spawn(process.execPath, [CLI, ...relayArgs], { env, stdio: 'inherit' });
step(`relay started (pid ${relay.pid}); the app places ${ORDERS} orders, every 5th payment is declined and rolled back`);

// 4. The app: each order and its event in one transaction, while the relay runs.
let committed = 0;
let rolledBack = 0;
let placed = 0;
const app = (async () => {
  for (let i = 1; i <= ORDERS; i++) {
    await placeOrder(i);
    placed = i;
    await new Promise((r) => setTimeout(r, 5));
  }
})();

// 5. A crash at the worst moment: after Kafka acknowledged a batch, before the relay marked it published.
//    Pause the relay so a backlog builds up, hold a SHARE lock on the outbox so the relay's mark (an UPDATE) has to
//    wait (the app's inserts wait too), let the relay claim and publish a full batch, then SIGKILL it while it waits.
await waitFor(async () => (placed >= ORDERS / 2 ? true : undefined), 'half the orders');
await waitFor(async () => {
  // Between batches: none of its connections is inside a transaction, so its next claim starts from the backlog.
  const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'outbox-relay' AND state <> 'idle' AND query LIKE $1`, [`%"${SCHEMA}"%`]);
  return rows.length === 0 ? true : undefined;
}, 'the relay to be between batches', 10_000, 1);
relay.kill('SIGSTOP');
await waitFor(async () => (placed >= ORDERS / 2 + 40 ? true : undefined), 'a backlog');
const blocker = await pool.connect();
await blocker.query('BEGIN');
await blocker.query(`LOCK TABLE ${SCHEMA}.outbox_events IN SHARE MODE`);
relay.kill('SIGCONT');
await waitFor(async () => {
  const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'outbox-relay' AND wait_event_type = 'Lock' AND query LIKE $1`, [`UPDATE "${SCHEMA}"%`]);
  return rows.length > 0 ? true : undefined;
}, 'the relay to wait on its mark', 10_000, 5);
relay.kill('SIGKILL');
await new Promise((r) => relay.once('exit', r));
await blocker.query('ROLLBACK');
blocker.release();
step('relay killed with SIGKILL after Kafka acknowledged a batch but before it was marked published (a crash); restarting it');
relay = spawn(process.execPath, [CLI, ...relayArgs], { env, stdio: 'inherit' });
await app;

const published = await waitFor(async () => {
  const { rows } = await pool.query(`SELECT count(*) FILTER (WHERE published_at IS NOT NULL)::int AS published, count(*)::int AS total FROM ${SCHEMA}.outbox_events`);
  return rows[0].published === rows[0].total ? rows[0].published : undefined;
}, 'the relay to publish every committed event');
const beforeReplay = await messagesInKafka();
step(`all ${published} committed events are published; now \`outbox-relay replay --since 10m\` republishes them all`);

// 6. Replay: recovery tools republish; consumers must not apply anything twice.
const replay = await run(['replay', '--since', '10m', '--schema', SCHEMA]);
if (replay !== 0) throw new Error(`replay exited with ${replay}`);

const inKafka = await waitFor(async () => {
  const total = await messagesInKafka();
  return delivered >= total ? total : undefined;
}, 'the consumer to read every message');
const { rows: effects } = await pool.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.shipments`);
const { rows: lostRows } = await pool.query(
  `SELECT count(*)::int AS n FROM ${SCHEMA}.orders o WHERE NOT EXISTS (SELECT 1 FROM ${SCHEMA}.shipments s WHERE s.order_id = o.id)`,
);

relay.kill('SIGTERM');
await new Promise((r) => relay.once('exit', r));
await consumer.disconnect();
await admin.disconnect();
await pool.end();

const line = (label, value, note = '') => console.log(`  ${label.padEnd(44, '.')} ${String(value).padStart(5)}  ${note}`);
console.log('\n══ outbox-relay demo: what flowed ══');
line('orders committed by the app', committed);
line('orders rolled back (payment declined)', rolledBack, '→ events published for them: 0');
line('events published by the relay', published, '= committed orders (each event once in the table)');
line('messages in Kafka', inKafka, `= ${published} + ${beforeReplay - published} re-sent after the SIGKILL + ${inKafka - beforeReplay} replayed`);
line('messages the consumer received', delivered, '(at least once)');
line('shipments created (effects applied)', effects[0].n, '(exactly once: duplicates skipped by event ID)');
line('committed orders without a shipment (lost)', lostRows[0].n);
const ok = effects[0].n === committed && lostRows[0].n === 0;
console.log(ok ? '\n✔ every committed order shipped exactly once; nothing rolled back was published.' : '\n✘ mismatch: see the numbers above');
process.exit(ok ? 0 : 1);

async function messagesInKafka() {
  const offsets = await admin.fetchTopicOffsets(TOPIC);
  return offsets.reduce((n, p) => n + Number(p.high), 0);
}

async function placeOrder(i) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query(`INSERT INTO ${SCHEMA}.orders (customer, total) VALUES ($1, $2) RETURNING id`, [`customer-${i % 40}`, (i * 7.5) % 200]);
    const orderId = Number(rows[0].id);
    const event = { topic: TOPIC, key: String(orderId), type: 'order.placed', aggregateType: 'order', aggregateId: String(orderId), payload: { orderId, total: (i * 7.5) % 200 } };
    await writeWithOutbox(client, event, { schema: SCHEMA });
    if (i % 5 === 0) {
      await client.query('ROLLBACK'); // payment declined: no order, and no event
      rolledBack++;
    } else {
      await client.query('COMMIT');
      committed++;
    }
  } finally {
    client.release();
  }
}

async function waitFor(check, what, timeoutMs = 60_000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`demo timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function run(args) {
  return new Promise((resolve) => {
    // Replay prints JSON progress lines when not on a terminal; show them only if it fails.
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...env, OUTBOX_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      if (code !== 0) process.stderr.write(stderr);
      resolve(code);
    });
  });
}
