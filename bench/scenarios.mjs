// The benchmark's scenarios. Each returns a plain object of measurements.
import pg from 'pg';
import { CompressionTypes } from 'kafkajs';
import { writeWithOutbox, writeManyWithOutbox } from '../dist/index.js';
import * as lib from './lib.mjs';

/** drain: a backlog of `events` pending rows → events/s from the first to the last published_at. */
export async function drain(pool, { events, batchSize, label = 'drain', retained = 0, relays: relayCount = 1 }) {
  const schema = await lib.freshSchema(label);
  const topic = await lib.freshTopic(label);
  try {
    if (retained > 0) await lib.insertBacklog(pool, schema, `${topic}-old`, retained, { published: true });
    await lib.insertBacklog(pool, schema, topic, events);
    const relays = Array.from({ length: relayCount }, () => lib.startRelay(schema, ['--batch-size', String(batchSize)]));
    const pendingSql = `SELECT EXISTS (SELECT 1 FROM ${pg.escapeIdentifier(schema)}.outbox_events WHERE published_at IS NULL AND dead_at IS NULL) AS pending`;
    await lib.waitUntil(async () => !(await pool.query(pendingSql)).rows[0].pending, 'the backlog to drain', 30 * 60_000);
    const peakRssMb = Math.max(...relays.map((r) => r.peakRssMb()));
    await Promise.all(relays.map((r) => r.stop()));
    const { rows } = await pool.query(
      `SELECT extract(epoch FROM max(published_at) - min(published_at)) AS seconds, count(*) AS n
       FROM ${pg.escapeIdentifier(schema)}.outbox_events WHERE topic = $1`,
      [topic],
    );
    const seconds = Number(rows[0].seconds);
    return { events, retained, relays: relayCount, seconds: round(seconds, 2), eventsPerSecond: Math.round(Number(rows[0].n) / seconds), peakRssMb: Math.round(peakRssMb) };
  } finally {
    await lib.dropSchema(pool, schema);
    await lib.deleteTopic(topic);
  }
}

/** ceiling: the same messages straight to Kafka with the relay's producer settings and batch size; no database. */
export async function ceiling({ events, batchSize }) {
  const topic = await lib.freshTopic('ceiling');
  const producer = lib.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const started = performance.now();
    for (let sent = 0; sent < events; sent += batchSize) {
      const messages = [];
      for (let i = sent; i < Math.min(events, sent + batchSize); i++) {
        messages.push({ key: crypto.randomUUID(), value: lib.payload(i), headers: { 'outbox-event-id': crypto.randomUUID(), 'content-type': 'application/json' } });
      }
      await producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1, compression: CompressionTypes.None });
    }
    const seconds = (performance.now() - started) / 1000;
    return { events, seconds: round(seconds, 2), eventsPerSecond: Math.round(events / seconds) };
  } finally {
    await producer.disconnect();
    await lib.deleteTopic(topic);
  }
}

/**
 * latency: writers commit `rate` events/s for `seconds`; latency = published_at (stamped by the relay right after
 * Kafka's acks=all) − the moment COMMIT returned to the writer. Same host, same clock. One event per transaction up
 * to 1,000/s; above that, transactions of ceil(rate / 1000) events at 1,000 transactions/s, because notifying commits
 * are serialised by PostgreSQL (~2,000 single-event transactions/s here, see the write scenario).
 */
export async function latency(pool, { rate, seconds }) {
  const perTx = Math.max(1, Math.ceil(rate / 1000));
  const schema = await lib.freshSchema('latency');
  const topic = await lib.freshTopic('latency');
  const writers = new pg.Pool({ connectionString: lib.DATABASE_URL, max: 16 });
  const relay = lib.startRelay(schema);
  try {
    await new Promise((r) => setTimeout(r, 1_000)); // let the relay connect and LISTEN before the clock starts
    const committedAt = new Map();
    const total = rate * seconds;
    const txRate = rate / perTx;
    const started = performance.now();
    const inFlight = new Set();
    for (let i = 0; i < total / perTx; i++) {
      // Open-loop pacing: transaction i is due at i/txRate s, whatever the previous ones did.
      const due = started + (i * 1000) / txRate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const p = writeTransaction(writers, schema, topic, i, perTx).then((ids) => {
        const now = Date.now();
        for (const id of ids) committedAt.set(id, now);
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= 200) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const achievedRate = Math.round(total / ((performance.now() - started) / 1000));
    const pendingSql = `SELECT EXISTS (SELECT 1 FROM ${pg.escapeIdentifier(schema)}.outbox_events WHERE published_at IS NULL) AS pending`;
    await lib.waitUntil(async () => !(await pool.query(pendingSql)).rows[0].pending, 'the events to be published', 120_000);
    const { rows } = await pool.query(`SELECT id, (extract(epoch FROM published_at) * 1000)::float8 AS ms FROM ${pg.escapeIdentifier(schema)}.outbox_events`);
    const latencies = rows.map((r) => Math.max(0, r.ms - committedAt.get(r.id))).sort((a, b) => a - b);
    return {
      targetRate: rate,
      eventsPerTransaction: perTx,
      achievedRate,
      events: total,
      p50Ms: round(lib.percentile(latencies, 50), 1),
      p95Ms: round(lib.percentile(latencies, 95), 1),
      p99Ms: round(lib.percentile(latencies, 99), 1),
      maxMs: round(latencies[latencies.length - 1], 1),
    };
  } finally {
    await relay.stop();
    await writers.end();
    await lib.dropSchema(pool, schema);
    await lib.deleteTopic(topic);
  }
}

async function writeTransaction(writers, schema, topic, n, events) {
  const client = await writers.connect();
  try {
    await client.query('BEGIN');
    const ids = await writeManyWithOutbox(client, Array.from({ length: events }, (_, i) => ({ topic, payload: { n, i, pad: 'x'.repeat(170) } })), { schema });
    await client.query('COMMIT');
    return ids;
  } finally {
    client.release();
  }
}

/**
 * write overhead: application transactions/s inserting a domain row alone, then with writeWithOutbox, with the
 * commit NOTIFY on (the default) and off (`SET outbox.notify = off`, for write-heavy apps that poll instead).
 */
export async function writeOverhead(pool, { seconds, clients }) {
  const schema = await lib.freshSchema('write');
  const table = `${pg.escapeIdentifier(schema)}.orders`;
  await pool.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL)`);
  const run = async (mode) => {
    const writers = new pg.Pool({ connectionString: lib.DATABASE_URL, max: clients, options: mode === 'outbox, notify off' ? '-c outbox.notify=off' : undefined });
    let count = 0;
    const deadline = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        const client = await writers.connect();
        try {
          while (performance.now() < deadline) {
            await client.query('BEGIN');
            const { rows } = await client.query(`INSERT INTO ${table} (customer, total) VALUES ($1, $2) RETURNING id`, ['c1', 12.5]);
            if (mode !== 'domain row only') {
              await writeWithOutbox(client, { topic: 'orders', key: String(rows[0].id), type: 'order.created', payload: { orderId: rows[0].id, pad: 'x'.repeat(150) } }, { schema });
            }
            await client.query('COMMIT');
            count++;
          }
        } finally {
          client.release();
        }
      }),
    );
    await writers.end();
    return Math.round(count / seconds);
  };
  try {
    const result = { clients, seconds };
    for (const mode of ['domain row only', 'outbox, notify on', 'outbox, notify off']) result[mode] = await run(mode);
    return result;
  } finally {
    await lib.dropSchema(pool, schema);
  }
}

function round(n, digits) {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
