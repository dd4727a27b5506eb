import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeManyWithOutbox } from '../../src/outbox/write.js';
import { countRows, createTestSchema, inTransaction, type TestSchema } from '../helpers/db.js';
import { assertRunning, consumeEventIds, expectDelivery, printRelayOutputOnFailure } from '../helpers/faultReport.js';
import { createTopic, kafkaBrokers, randomTopic } from '../helpers/kafka.js';
import { RelayProcess, waitFor } from '../helpers/relayProcess.js';
import { startWriter } from '../helpers/writer.js';

const BATCH_SIZE = 50;
const MAX_ATTEMPTS = 3;
// The topic takes record batches up to 10,000 bytes; writeWithOutbox accepts events up to 1 MB, so a 50 KB event
// commits fine and is refused by the broker only at publish time: MESSAGE_TOO_LARGE, a permanent refusal. A batch of
// 50 small events spread over 3 partitions stays ~3 KB per partition, well under the limit.
const MAX_MESSAGE_BYTES = 10_000;
const POISON_BYTES = 50_000;

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

const published = () => {
  assertRunning(relay!);
  return countRows(db.pool, db.schema, 'published_at IS NOT NULL');
};

describe('poison event', () => {
  it('an event the broker refuses for good goes dead after its attempts; every other event is published meanwhile', async () => {
    const topic = randomTopic('poison');
    await createTopic(topic, 3, { configEntries: [{ name: 'max.message.bytes', value: String(MAX_MESSAGE_BYTES) }] });
    writer = startWriter(db.pool, db.schema, topic, { pauseMs: 5 });
    // The CLI's per-event backoff is the library default (1 s, ×2): three attempts take ~3 s.
    relay = new RelayProcess(db.schema, ['--batch-size', String(BATCH_SIZE), '--poll-interval', '100', '--max-attempts', String(MAX_ATTEMPTS)]);
    printRelayOutputOnFailure(() => [relay]);
    await waitFor(async () => (await published()) >= 200, '200 events published', 60_000);

    // The poison amid 20 good events of its own transaction, so they are claimed in one batch: one on the poison's
    // key (same partition) either side, the others on 18 keys over all 3 partitions. Kafka then takes part of the
    // batch's first send and refuses the rest; that partial success once put kafkajs' sequence numbers out of step
    // (src/kafka/producer.ts), and the relay retried the batch forever without charging the poison an attempt.
    const spread = (label: string) => Array.from({ length: 9 }, (_, i) => ({ topic, key: `${label}-${i}`, payload: `${label} ${i}` }));
    const neighbours = [...spread('before'), { topic, key: 'poisoned', payload: 'before' }, { topic, key: 'poisoned', payload: 'x'.repeat(POISON_BYTES) }, { topic, key: 'poisoned', payload: 'after' }, ...spread('after')];
    const written = await inTransaction(db.pool, (tx) => writeManyWithOutbox(tx, neighbours, { schema: db.schema }));
    const poison = written[10]!;
    const good = written.filter((id) => id !== poison);
    const poisonStart = Date.now();
    const row = async () =>
      (
        await db.pool.query<{ attempts: number; dead_at: Date | null; published_at: Date | null; last_error: string | null }>(
          `SELECT attempts, dead_at, published_at, last_error FROM ${pg.escapeIdentifier(db.schema)}.outbox_events WHERE id = $1`,
          [poison],
        )
      ).rows[0]!;
    const publishedAtPoison = await published();
    await waitFor(async () => (await row()).dead_at !== null, 'the poison event to go dead', 60_000, 100);
    const deadAfterMs = Date.now() - poisonStart;
    // While the poison was retried, the stream went on.
    const publishedWhilePoisoned = (await published()) - publishedAtPoison;
    const stats = await writer.stop();
    await waitFor(async () => (await countRows(db.pool, db.schema, 'published_at IS NULL AND dead_at IS NULL')) === 0, 'the backlog to drain', 60_000);
    expect((await relay.kill('SIGTERM')).code).toBe(0);

    const dead = await row();
    expect(dead.attempts).toBe(MAX_ATTEMPTS);
    expect(dead.published_at).toBeNull();
    expect(dead.last_error).toMatch(/MESSAGE_TOO_LARGE/);
    const ids = await consumeEventIds(kafkaBrokers(), topic);
    expect(ids).not.toContain(poison);
    expect(ids).toEqual(expect.arrayContaining(good));
    // Each attempt sends the poison's whole batch once: the partitions without it take their events, and the
    // one-at-a-time retry that isolates the poison sends those again. At most one batch per refusal.
    expectDelivery('poison event', ids, { committed: [...stats.committed, ...good], rolledBack: stats.rolledBack }, MAX_ATTEMPTS * BATCH_SIZE, {
      attempts: dead.attempts,
      deadAfterMs,
      publishedWhilePoisoned,
      lastError: JSON.stringify(dead.last_error!.slice(0, 80)),
    });
    expect(publishedWhilePoisoned).toBeGreaterThan(0);
  });
});
