import { describe, expect, it } from 'vitest';
import type { Relay } from '../../src/relay/relay.js';
import { writeManyWithOutbox, writeWithOutbox } from '../../src/outbox/write.js';
import { countRows, inTransaction } from '../helpers/db.js';
import { consumeTopic, createTopic, randomTopic, topicMessageCount } from '../helpers/kafka.js';
import { waitFor } from '../helpers/relayProcess.js';
import { useRelayTest } from '../helpers/relayTest.js';

const t = useRelayTest('test');

function startRelay(batchSize = 100): Relay {
  const relay = t.relay({ batchSize });
  void relay.start();
  return relay;
}

describe('wake-up on commit', () => {
  it('publishes a committed event at once although the poll interval is a minute (LISTEN/NOTIFY)', async () => {
    const topic = randomTopic('notify');
    await createTopic(topic, 1);
    let polls = 0;
    const relay = t.relay({ pollIntervalMs: 60_000, observer: { onBatch: () => void polls++ } });
    await relay.start();
    // The start-up claim and the one the LISTEN connection triggers once it is listening.
    await waitFor(() => polls >= 2, 'the relay to listen and go idle');
    await inTransaction(t.db.pool, (tx) => writeWithOutbox(tx, { topic, payload: 'wake' }, { schema: t.db.schema }));
    await waitFor(async () => (await countRows(t.db.pool, t.db.schema, 'published_at IS NOT NULL')) === 1, 'the event published', 10_000);
    // A rolled-back insert notifies nobody: no extra claim follows it.
    const before = polls;
    await inTransaction(t.db.pool, (tx) => writeWithOutbox(tx, { topic, payload: 'never' }, { schema: t.db.schema }), true);
    await inTransaction(t.db.pool, (tx) => writeWithOutbox(tx, { topic, payload: 'second' }, { schema: t.db.schema }));
    await waitFor(async () => (await countRows(t.db.pool, t.db.schema, 'published_at IS NOT NULL')) === 2, 'the second event published', 10_000);
    expect(polls - before).toBeLessThanOrEqual(2);
  });
});

describe('relay round trip', () => {
  it('publishes every committed event with its key, value and headers, and marks it published', async () => {
    const topic = randomTopic('roundtrip');
    await createTopic(topic, 3);
    const events = Array.from({ length: 300 }, (_, i) => ({
      topic,
      payload: i % 10 === 0 ? Buffer.from([i % 256, 0, 1]) : { n: i, text: `event ${i}` },
      key: i % 2 === 0 ? `order-${i % 7}` : undefined,
      type: 'order.created',
      aggregateType: 'order',
      aggregateId: String(i % 7),
      headers: { tenant: `t${i % 3}`, raw: Buffer.from([255, i % 256]) },
    }));
    const ids = await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, events, { schema: t.db.schema }));
    startRelay(64);

    const messages = await consumeTopic(topic, events.length);
    expect(messages).toHaveLength(events.length);
    const byId = new Map(messages.map((m) => [m.headers['outbox-event-id'], m]));
    ids.forEach((id, i) => {
      const m = byId.get(id)!;
      const e = events[i]!;
      expect(m, `event ${i}`).toBeDefined();
      expect(m.key).toBe(e.key ?? id);
      expect(m.value).toEqual(Buffer.isBuffer(e.payload) ? e.payload : Buffer.from(JSON.stringify(e.payload)));
      expect(m.headers).toMatchObject({ 'outbox-event-type': 'order.created', 'outbox-aggregate-type': 'order', 'outbox-aggregate-id': e.aggregateId, tenant: e.headers.tenant });
      expect(m.headers['content-type']).toBe(Buffer.isBuffer(e.payload) ? undefined : 'application/json');
    });
    await waitFor(async () => (await countRows(t.db.pool, t.db.schema, 'published_at IS NULL')) === 0, 'all rows marked published');
  });

  it('keeps per-key order within a partition', async () => {
    const topic = randomTopic('order');
    await createTopic(topic, 3);
    for (let batch = 0; batch < 5; batch++) {
      await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, Array.from({ length: 40 }, (_, i) => ({ topic, key: `k${i % 4}`, payload: { n: batch * 40 + i } })), { schema: t.db.schema }));
    }
    startRelay(30);
    const messages = await consumeTopic(topic, 200);
    for (const key of ['k0', 'k1', 'k2', 'k3']) {
      const ns = messages.filter((m) => m.key === key).map((m) => JSON.parse(m.value!.toString()).n as number);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
  });

  it('never publishes an event whose transaction rolled back', async () => {
    const topic = randomTopic('rollback');
    await createTopic(topic, 1);
    startRelay(10);
    const committed: string[] = [];
    const rolledBack: string[] = [];
    for (let i = 0; i < 40; i++) {
      const rollback = i % 3 === 0;
      const id = await inTransaction(t.db.pool, (tx) => writeWithOutbox(tx, { topic, payload: { i } }, { schema: t.db.schema }), rollback);
      (rollback ? rolledBack : committed).push(id);
    }
    // A transaction that fails after writing (an error in the app's own SQL) rolls the event back too.
    await expect(
      inTransaction(t.db.pool, async (tx) => {
        rolledBack.push(await writeWithOutbox(tx, { topic, payload: 'doomed' }, { schema: t.db.schema }));
        await tx.query('SELECT 1/0');
      }),
    ).rejects.toThrow(/division by zero/);

    const messages = await consumeTopic(topic, committed.length);
    const seen = new Set(messages.map((m) => m.headers['outbox-event-id']));
    expect([...seen].sort()).toEqual([...committed].sort());
    for (const id of rolledBack) expect(seen.has(id)).toBe(false);
    expect(await topicMessageCount(topic)).toBe(committed.length);
  });

  it('stop() finishes cleanly and a stopped relay leaves unpublished events for the next one', async () => {
    const topic = randomTopic('stop');
    await createTopic(topic, 1);
    const r = startRelay(10);
    await r.stop();
    await r.finished;
    await inTransaction(t.db.pool, (tx) => writeWithOutbox(tx, { topic, payload: 1 }, { schema: t.db.schema }));
    expect(await countRows(t.db.pool, t.db.schema, 'published_at IS NULL')).toBe(1);
  });
});
