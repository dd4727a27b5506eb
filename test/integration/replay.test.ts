import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HEADER_REPLAY, replay } from '../../src/ops/replay.js';
import { writeManyWithOutbox } from '../../src/outbox/write.js';
import { createTestSchema, databaseUrl, inTransaction, type TestSchema } from '../helpers/db.js';
import { consumeTopic, createTopic, kafkaBrokers, randomTopic, topicMessageCount } from '../helpers/kafka.js';
import { runCli } from '../helpers/relayProcess.js';

let db: TestSchema;
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => {
  await db.cleanup();
});

const MINUTE = 60_000;
/** A fixed "now" for the seeded rows, a whole second in the past so every window below is closed. */
const T = new Date(Math.floor(Date.now() / 1_000) * 1_000 - 1_000);
const ago = (minutes: number) => new Date(T.getTime() - minutes * MINUTE);

interface Seed {
  topic: string;
  createdMinutesAgo: number;
  state?: 'published' | 'pending' | 'dead';
  key?: string;
  type?: string;
  aggregateId?: string;
}

/** Writes events through writeWithOutbox, then dates them and sets their state with SQL. Returns IDs in seq order. */
async function seed(seeds: Seed[]): Promise<string[]> {
  const ids = await inTransaction(db.pool, (tx) =>
    writeManyWithOutbox(
      tx,
      seeds.map((s, i) => ({ topic: s.topic, key: s.key, type: s.type ?? 'thing.happened', aggregateType: 'thing', aggregateId: s.aggregateId, payload: { i }, headers: { tenant: `t${i % 2}` } })),
      { schema: db.schema },
    ),
  );
  await db.pool.query(
    `UPDATE ${pg.escapeIdentifier(db.schema)}.outbox_events e
     SET created_at = s.created_at,
         published_at = CASE WHEN s.state = 'published' THEN s.created_at + interval '2 seconds' END,
         dead_at = CASE WHEN s.state = 'dead' THEN s.created_at + interval '2 seconds' END,
         attempts = CASE WHEN s.state = 'pending' THEN 0 ELSE 1 END
     FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS s(id, created_at, state) WHERE e.id = s.id`,
    [ids, seeds.map((s) => ago(s.createdMinutesAgo)), seeds.map((s) => s.state ?? 'published')],
  );
  return ids;
}

async function tableSnapshot(): Promise<unknown[]> {
  const { rows } = await db.pool.query(`SELECT seq, id, published_at, attempts, dead_at, last_error FROM ${pg.escapeIdentifier(db.schema)}.outbox_events ORDER BY seq`);
  return rows;
}

const kafka = () => ({ brokers: kafkaBrokers(), clientId: 'replay-test' });
const cliEnv = () => ({ DATABASE_URL: databaseUrl(), KAFKA_BROKERS: kafkaBrokers().join(',') });

describe('replay', () => {
  it('republishes exactly the window, in seq order, with the same IDs, keys and headers plus outbox-replay, and changes no row', async () => {
    const topic = randomTopic('replay-window');
    await createTopic(topic, 1);
    // Events created 40, 39, … 11 minutes ago; the window [36m, 21m) holds the 15 created 36 … 22 minutes ago, seq 5 … 19
    // (crossing 9 → 10 mid-walk: a text-sorted seq would skip rows).
    const seeds: Seed[] = Array.from({ length: 30 }, (_, i) => ({ topic, createdMinutesAgo: 40 - i, key: i % 3 === 0 ? `order-${i}` : undefined }));
    // In the window but not published (pending, dead): never replayed.
    seeds.push({ topic, createdMinutesAgo: 30, state: 'pending' }, { topic, createdMinutesAgo: 30, state: 'dead' });
    const ids = await seed(seeds);
    const expected = ids.slice(4, 19);
    const before = await tableSnapshot();

    const progress: number[] = [];
    const result = await replay({ pool: db.pool, kafka: kafka(), schema: db.schema, since: ago(36), until: ago(21), batchSize: 4, onProgress: (p) => progress.push(p.done) });

    expect(result).toMatchObject({ total: 15, published: 15, completed: true, retentionGap: null });
    expect(progress).toEqual([4, 8, 12, 15]);
    const messages = await consumeTopic(topic, 15);
    expect(messages.map((m) => m.headers['outbox-event-id'])).toEqual(expected);
    for (const [n, m] of messages.entries()) {
      const i = n + 4;
      expect(m.key).toBe(i % 3 === 0 ? `order-${i}` : expected[n]);
      expect(JSON.parse(m.value!.toString())).toEqual({ i });
      expect(m.headers).toMatchObject({ [HEADER_REPLAY]: 'true', tenant: `t${i % 2}`, 'outbox-event-type': 'thing.happened', 'outbox-aggregate-type': 'thing' });
    }
    expect(await tableSnapshot()).toEqual(before);
  });

  it('narrows the window with --topic, --type, --key, --aggregate-id and --id', async () => {
    const [a, b] = [randomTopic('replay-fa'), randomTopic('replay-fb')];
    const ids = await seed([
      { topic: a, createdMinutesAgo: 50, type: 'created', key: 'k1', aggregateId: 'agg-1' },
      { topic: b, createdMinutesAgo: 40, type: 'created', key: 'k2', aggregateId: 'agg-2' },
      { topic: a, createdMinutesAgo: 30, type: 'updated', key: 'k1', aggregateId: 'agg-1' },
      { topic: b, createdMinutesAgo: 20, type: 'updated', aggregateId: 'agg-3' },
      { topic: a, createdMinutesAgo: 10, type: 'deleted', key: 'k3', aggregateId: 'agg-1' },
    ]);
    const dry = async (filters: object) =>
      (await replay({ pool: db.pool, schema: db.schema, since: ago(60), dryRun: true, sampleSize: 100, ...filters })).sample.map((e) => e.id);
    expect(await dry({})).toEqual(ids);
    expect(await dry({ topics: [a] })).toEqual([ids[0], ids[2], ids[4]]);
    expect(await dry({ topics: [a, b], types: ['updated'] })).toEqual([ids[2], ids[3]]);
    expect(await dry({ keys: ['k1'] })).toEqual([ids[0], ids[2]]);
    // An event written without a key goes to Kafka keyed by its ID, so --key <id> finds it.
    expect(await dry({ keys: [ids[3]] })).toEqual([ids[3]]);
    expect(await dry({ aggregateIds: ['agg-1'], types: ['created', 'deleted'] })).toEqual([ids[0], ids[4]]);
    expect(await dry({ ids: [ids[1], ids[4]] })).toEqual([ids[1], ids[4]]);
    expect(await dry({ ids: [ids[1]], topics: [a] })).toEqual([]);
  });

  it('--dry-run counts and samples the window and publishes nothing', async () => {
    const topic = randomTopic('replay-dry');
    await createTopic(topic, 1);
    const ids = await seed(Array.from({ length: 12 }, (_, i) => ({ topic, createdMinutesAgo: 30 - i })));
    const run = await runCli(['replay', '--schema', db.schema, '--since', ago(60).toISOString(), '--dry-run'], cliEnv());
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ dryRun: true, total: 12, published: 0 });
    expect(result.sample.map((e: { id: string }) => e.id)).toEqual(ids.slice(0, 10));
    expect(await topicMessageCount(topic)).toBe(0);
  });

  it('--to-topic sends the window to another topic and leaves the original alone', async () => {
    const [source, target] = [randomTopic('replay-src'), randomTopic('replay-dst')];
    await Promise.all([createTopic(source, 1), createTopic(target, 1)]);
    const ids = await seed(Array.from({ length: 8 }, (_, i) => ({ topic: source, createdMinutesAgo: 30 - i })));
    const run = await runCli(['replay', '--schema', db.schema, '--since', '2h', '--topic', source, '--to-topic', target], cliEnv());
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ total: 8, published: 8, completed: true });
    const messages = await consumeTopic(target, 8);
    expect(messages.map((m) => m.headers['outbox-event-id'])).toEqual(ids);
    expect(await topicMessageCount(source)).toBe(0);
  });

  it('takes no row locks: it finishes while another transaction holds every row FOR UPDATE', async () => {
    const topic = randomTopic('replay-locks');
    await createTopic(topic, 1);
    await seed(Array.from({ length: 5 }, (_, i) => ({ topic, createdMinutesAgo: 10 - i })));
    const locker = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM ${pg.escapeIdentifier(db.schema)}.outbox_events FOR UPDATE`);
      const result = await replay({ pool: db.pool, kafka: kafka(), schema: db.schema, since: ago(60) });
      expect(result.published).toBe(5);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
  });

  it('warns before publishing when the window reaches past what retention kept, and not otherwise', async () => {
    const topic = randomTopic('replay-gap');
    await createTopic(topic, 1);
    const ids = await seed(Array.from({ length: 10 }, (_, i) => ({ topic, createdMinutesAgo: 100 - i * 10 })));
    // Retention took the 4 oldest (created 100 … 70 minutes ago).
    await db.pool.query(`DELETE FROM ${pg.escapeIdentifier(db.schema)}.outbox_events WHERE id = ANY($1::uuid[])`, [ids.slice(0, 4)]);

    const wide = await runCli(['replay', '--schema', db.schema, '--since', '2h', '--topic', topic], cliEnv());
    expect(wide.code, wide.stderr).toBe(0);
    const lines = wide.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event?: string; retentionGap?: { missingSeqs: number } });
    const warning = lines.findIndex((l) => l.event === 'warning');
    expect(warning).toBeGreaterThanOrEqual(0);
    expect(lines[warning]!.retentionGap!.missingSeqs).toBe(4);
    // Said before anything was published: no progress line comes before it.
    expect(lines.slice(0, warning).some((l) => l.event === 'progress')).toBe(false);

    // Rows created up to 60 minutes ago (the oldest still published) may have been pruned: a window from 65m may
    // have lost some, one from 55m cannot have.
    expect((await replay({ pool: db.pool, schema: db.schema, since: ago(65), dryRun: true })).retentionGap).not.toBeNull();
    const narrow = await replay({ pool: db.pool, schema: db.schema, since: ago(55), dryRun: true });
    expect(narrow.retentionGap).toBeNull();
    expect(narrow.total).toBe(5);
  });
});
