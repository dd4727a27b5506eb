import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Consumer, ConsumerConfig, EachMessagePayload, IHeaders, Message } from 'kafkajs';
import type pg from 'pg';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idempotentEachBatch, idempotentEachMessage, type InboxMessage } from '../../src/inbox/kafkajs.js';
import { MissingEventIdError } from '../../src/inbox/errors.js';
import { writeWithOutbox } from '../../src/outbox/write.js';
import { createRelay } from '../../src/relay/relay.js';
import { countRows, createTestSchema, databaseUrl, inTransaction, type TestSchema } from '../helpers/db.js';
import { consumeTopic, createTopic, kafka, kafkaBrokers, randomTopic } from '../helpers/kafka.js';
import { waitFor } from '../helpers/relayProcess.js';

let db: TestSchema;
let topic: string;
let groupId: string;
let consumers: Consumer[];
/** Event IDs the handler was called with (whether or not its transaction then committed). */
let handled: string[];

beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
  await db.pool.query(`CREATE TABLE ${db.schema}.accounts (id text PRIMARY KEY, balance bigint NOT NULL)`);
  await db.pool.query(`INSERT INTO ${db.schema}.accounts VALUES ('alice', 0)`);
  topic = randomTopic('inbox');
  groupId = `inbox-${randomBytes(5).toString('hex')}`;
  consumers = [];
  handled = [];
});
afterEach(async () => {
  await Promise.all(consumers.map((c) => c.disconnect()));
  await db.cleanup();
});

/** The domain effect: credit the amount in the message to alice. A double application shows in the balance. */
async function credit(tx: pg.PoolClient, { eventId, message }: InboxMessage): Promise<void> {
  handled.push(eventId);
  const { amount } = JSON.parse(message.value!.toString()) as { amount: number };
  await tx.query(`UPDATE ${db.schema}.accounts SET balance = balance + $1 WHERE id = 'alice'`, [amount]);
}
const balance = async () => Number((await db.pool.query(`SELECT balance FROM ${db.schema}.accounts`)).rows[0].balance);
const processedCount = async () => Number((await db.pool.query(`SELECT count(*) FROM ${db.schema}.processed_messages`)).rows[0].count);
const options = () => ({ consumer: 'billing', schema: db.schema });

function newConsumer(extra: Partial<ConsumerConfig> = {}): Consumer {
  // retries: 2 at 100 ms keeps a failing handler's redeliveries inside a test's time; kafkajs' default is 5 from 300 ms.
  const consumer = kafka().consumer({ groupId, maxWaitTimeInMs: 100, retry: { initialRetryTime: 100, retries: 2 }, ...extra });
  consumers.push(consumer);
  return consumer;
}

async function start(consumer: Consumer, run: Parameters<Consumer['run']>[0]): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run(run);
}

/** Resolves with kafkajs' crash event: the error and whether kafkajs restarts the consumer. */
function crashed(consumer: Consumer): Promise<{ error: Error; restart: boolean }> {
  return new Promise((resolve) => consumer.on(consumer.events.CRASH, (e) => resolve(e.payload as { error: Error; restart: boolean })));
}

async function send(messages: Message[], to = topic): Promise<void> {
  const producer = kafka().producer();
  await producer.connect();
  try {
    await producer.send({ topic: to, messages });
  } finally {
    await producer.disconnect();
  }
}

const event = (id: string, amount: number, partition?: number): Message => ({
  value: JSON.stringify({ amount }),
  headers: { 'outbox-event-id': id } as IHeaders,
  partition,
});

/** The group's committed offset of partition 0; -1 when none was committed. */
async function committedOffset(): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(entry!.partitions.find((p) => p.partition === 0)!.offset);
  } finally {
    await admin.disconnect();
  }
}

/** Counts deliveries around the adapter, so a test can wait until Kafka has handed over every copy. */
function counting(each: (p: EachMessagePayload) => Promise<void>, delivered: { n: number }) {
  return async (payload: EachMessagePayload) => {
    await each(payload);
    delivered.n++;
  };
}

describe('idempotentEachMessage', () => {
  it('end to end: an outbox event relayed, then delivered three times, credits once', async () => {
    await createTopic(topic, 1);
    const eventId = await inTransaction(db.pool, (tx) => writeWithOutbox(tx, { topic, payload: { amount: 10 }, type: 'account.credited' }, { schema: db.schema }));
    const relay = createRelay({ databaseUrl: databaseUrl(), kafka: { brokers: kafkaBrokers(), clientId: 'inbox-test' }, schema: db.schema, pollIntervalMs: 50 });
    await relay.start();
    try {
      await waitFor(async () => (await countRows(db.pool, db.schema, 'published_at IS NOT NULL')) === 1, 'the relay to publish the event');
    } finally {
      await relay.stop();
    }
    // Re-send the relayed message twice, byte for byte (what a replay or a producer retry after a lost ack delivers).
    const [relayed] = await consumeTopic(topic, 1);
    expect(relayed!.headers['outbox-event-id']).toBe(eventId);
    await send([1, 2].map(() => ({ key: relayed!.key, value: relayed!.value, headers: relayed!.headers })));

    const delivered = { n: 0 };
    await start(newConsumer(), { eachMessage: counting(idempotentEachMessage(db.pool, options(), credit), delivered) });
    await waitFor(() => delivered.n === 3, 'three deliveries');
    expect(handled).toEqual([eventId]);
    expect(await balance()).toBe(10);
    expect(await processedCount()).toBe(1);
  });

  it('a consumer that crashed after the DB commit but before the offset commit skips the redelivery', async () => {
    await createTopic(topic, 1);
    const eventId = randomUUID();
    await send([event(eventId, 10)]);
    const each = idempotentEachMessage(db.pool, options(), credit);
    // The crash: the transaction has committed, then the process dies before kafkajs resolves the offset.
    // retriable: false makes kafkajs stop this consumer instead of retrying in place.
    const first = newConsumer();
    const firstCrash = crashed(first);
    await start(first, { eachMessage: async (p) => (await each(p), Promise.reject(Object.assign(new Error('crash'), { retriable: false }))) });
    expect((await firstCrash).restart).toBe(false);
    await first.disconnect();
    expect(await balance()).toBe(10);
    expect(await committedOffset()).toBe(-1); // nothing committed: Kafka will deliver the event again

    const delivered = { n: 0 };
    await start(newConsumer(), { eachMessage: counting(each, delivered) });
    await waitFor(() => delivered.n === 1, 'the redelivery to the restarted consumer');
    expect(handled).toEqual([eventId]);
    expect(await balance()).toBe(10);
    await waitFor(async () => (await committedOffset()) === 1, 'the offset commit after the skip');
  });

  it('a handler that throws is rolled back and the event applied on the next delivery', async () => {
    await createTopic(topic, 1);
    const eventId = randomUUID();
    await send([event(eventId, 10)]);
    let failures = 1;
    const delivered = { n: 0 };
    const flaky = async (tx: pg.PoolClient, m: InboxMessage) => {
      await credit(tx, m);
      if (failures-- > 0) throw new Error('deadlock detected (simulated)'); // after the UPDATE: it must roll back
    };
    await start(newConsumer(), { eachMessage: counting(idempotentEachMessage(db.pool, options(), flaky), delivered) });
    await waitFor(() => delivered.n === 1, 'a successful delivery after kafkajs retried');
    expect(handled).toEqual([eventId, eventId]);
    expect(await balance()).toBe(10);
    expect(await processedCount()).toBe(1);
  });

  it('two consumers in one group racing on the same event apply it once', async () => {
    await createTopic(topic, 2);
    const [a, b] = [newConsumer(), newConsumer()];
    const assigned = new Map<Consumer, number>();
    for (const c of [a, b]) c.on(c.events.GROUP_JOIN, (e) => assigned.set(c, e.payload.memberAssignment[topic]?.length ?? 0));
    const inFlight = new Set<Consumer>();
    const delivered = new Map<Consumer, number>([[a, 0], [b, 0]]);
    const each = idempotentEachMessage(db.pool, options(), async (tx, m) => {
      // Hold the uncommitted processed_messages row until the other consumer is inside processOnce too: a real race.
      await waitFor(() => inFlight.size === 2, 'both consumers to hold a copy of the event', 20_000);
      await credit(tx, m);
    });
    for (const c of [a, b]) {
      await start(c, {
        eachMessage: async (p) => {
          inFlight.add(c);
          await each(p);
          delivered.set(c, delivered.get(c)! + 1);
        },
      });
    }
    await waitFor(() => assigned.get(a) === 1 && assigned.get(b) === 1, 'one partition for each consumer');
    const eventId = randomUUID();
    await send([0, 1, 0, 1, 0, 1].map((partition) => event(eventId, 10, partition)));
    await waitFor(() => delivered.get(a)! + delivered.get(b)! === 6, 'six deliveries');
    expect([delivered.get(a), delivered.get(b)]).toEqual([3, 3]);
    expect(handled).toEqual([eventId]);
    expect(await balance()).toBe(10);
  });

  it("rejects a message without the event-ID header with MissingEventIdError ('fail', the default)", async () => {
    await createTopic(topic, 1);
    await send([{ value: JSON.stringify({ amount: 10 }) }]);
    const errors: unknown[] = [];
    let appliedSilently!: (err: Error) => void;
    const silently = new Promise<never>((_, reject) => (appliedSilently = reject));
    const each = idempotentEachMessage(db.pool, options(), async (tx, m) => (appliedSilently(new Error('applied a message without an event ID')), credit(tx, m)));
    const consumer = newConsumer();
    const crash = crashed(consumer);
    await start(consumer, { eachMessage: (p) => each(p).catch((err: unknown) => (errors.push(err), Promise.reject(err))) });
    // Not retriable: the consumer stops on the message instead of looping (or, worse, applying it).
    expect((await Promise.race([crash, silently])).restart).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(MissingEventIdError);
    expect((errors[0] as Error).message).toContain(`message ${topic}[0]@0 has no outbox-event-id header`);
    expect(handled).toEqual([]);
    expect(await balance()).toBe(0);
    expect(await committedOffset()).toBe(-1);
  });

  it("logs and skips messages without a usable event ID ('skip'), never applying them", async () => {
    await createTopic(topic, 1);
    const eventId = randomUUID();
    await send([{ value: JSON.stringify({ amount: 100 }) }, { value: JSON.stringify({ amount: 1000 }), headers: { 'outbox-event-id': 'order-17' } }, event(eventId, 10)]);
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString())), done()) });
    const logger = pino({ level: 'warn' }, sink);
    await start(newConsumer(), { eachMessage: idempotentEachMessage(db.pool, { ...options(), onMissingEventId: 'skip', logger }, credit) });
    await waitFor(async () => (await committedOffset()) === 3, 'the consumer to move past all three messages');
    expect(handled).toEqual([eventId]);
    expect(await balance()).toBe(10);
    expect(lines.map((l) => [l.offset, l.problem])).toEqual([
      ['0', 'has no outbox-event-id header'],
      ['1', 'has an outbox-event-id header that is not a UUID: "order-17"'],
    ]);
  });
});

describe('idempotentEachBatch', () => {
  it('commits offsets only up to the last committed transaction; the next consumer skips what was applied', async () => {
    await createTopic(topic, 1);
    const [e1, e2, e3, e4] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await send([event(e1, 1), event(e2, 2), event(e3, 4), event(e1, 1), event(e4, 8)]);
    let failOnE3 = true;
    const handler = async (tx: pg.PoolClient, m: InboxMessage) => {
      await credit(tx, m);
      if (m.eventId === e3 && failOnE3) {
        failOnE3 = false;
        throw Object.assign(new Error('crash while applying e3'), { retriable: false }); // stop the consumer here
      }
    };
    const first = newConsumer();
    const crash = crashed(first);
    await start(first, idempotentEachBatch(db.pool, options(), handler));
    await crash;
    await first.disconnect();
    expect(await balance()).toBe(1 + 2);
    expect(await committedOffset()).toBe(2); // e3 (offset 2) is the next to read: it was rolled back

    await start(newConsumer(), idempotentEachBatch(db.pool, options(), handler));
    await waitFor(async () => (await committedOffset()) === 5, 'the second consumer to commit all five offsets');
    expect(handled).toEqual([e1, e2, e3, e3, e4]); // e3 twice (rolled back once); the duplicate e1 never reached the handler
    expect(await balance()).toBe(1 + 2 + 4 + 8);
    expect(await processedCount()).toBe(4);
  });
});
