import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import type { Relay, RelayOptions } from '../../src/relay/relay.js';
import { writeManyWithOutbox } from '../../src/outbox/write.js';
import { countRows, inTransaction } from '../helpers/db.js';
import { consumeTopic, createTopic, randomTopic } from '../helpers/kafka.js';
import { RelayProcess, waitFor } from '../helpers/relayProcess.js';
import { useRelayTest } from '../helpers/relayTest.js';

const t = useRelayTest('retention-test');

const table = () => `${pg.escapeIdentifier(t.db.schema)}.outbox_events`;

/** Log lines as objects, to see what the relay and its retention reported. */
function recordingLogger() {
  const lines: { level: number; msg: string; retentionMs?: number; deleted?: number }[] = [];
  return { lines, logger: createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } }) };
}

function startRelay(options: Partial<RelayOptions>): Relay {
  const relay = t.relay(options);
  void relay.start();
  return relay;
}

/** Rows a year old in states the relay must never delete or publish: backing off (pending), dead, discarded. */
async function seedUntouchable(topic: string): Promise<{ pending: string; dead: string; discarded: string }> {
  const [pending, dead, discarded] = await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, [0, 1, 2].map((i) => ({ topic, payload: { i } })), { schema: t.db.schema }));
  await t.db.pool.query(`UPDATE ${table()} SET created_at = now() - interval '1 year', attempts = 1, next_attempt_at = now() + interval '1 hour' WHERE id = $1`, [pending]);
  await t.db.pool.query(
    `UPDATE ${table()} SET created_at = now() - interval '1 year', dead_at = now() - interval '1 year', attempts = 5, last_error = 'MESSAGE_TOO_LARGE: too big',
       discarded_at = CASE WHEN id = $2 THEN now() - interval '1 year' END
     WHERE id = ANY($1::uuid[])`,
    [[dead, discarded], discarded],
  );
  return { pending: pending!, dead: dead!, discarded: discarded! };
}

async function ids(): Promise<string[]> {
  return (await t.db.pool.query<{ id: string }>(`SELECT id FROM ${table()} ORDER BY seq`)).rows.map((r) => r.id);
}

describe('relay retention', () => {
  it('deletes published events older than retentionMs (the relay\'s own too), never pending or dead ones', async () => {
    const topic = randomTopic('retention');
    await createTopic(topic, 1);
    const untouchable = await seedUntouchable(topic);
    const oldPublished = await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, Array.from({ length: 30 }, () => ({ topic: 'elsewhere', payload: {} })), { schema: t.db.schema }));
    await t.db.pool.query(`UPDATE ${table()} SET published_at = now() - interval '1 day' WHERE id = ANY($1::uuid[])`, [oldPublished]);
    const { lines, logger } = recordingLogger();

    const relay = startRelay({ retentionMs: 2_000, retentionIntervalMs: 50, logger });
    await waitFor(async () => (await countRows(t.db.pool, t.db.schema, 'published_at IS NOT NULL')) === 0, 'the day-old published events to be pruned');

    // Events the relay publishes itself are kept for the retention (seen published, although passes run every
    // 50 ms), then pruned too. 2 s rather than 1 s, so a loaded machine cannot skip past the first sighting.
    const fresh = await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, Array.from({ length: 5 }, (_, i) => ({ topic, payload: { fresh: i } })), { schema: t.db.schema }));
    const messages = await consumeTopic(topic, fresh.length);
    expect(messages.map((m) => m.headers['outbox-event-id'])).toEqual(fresh);
    const freshRows = async (where: string) => countRows(t.db.pool, t.db.schema, `id IN (${fresh.map((id) => `'${id}'`).join(',')}) AND ${where}`);
    await waitFor(async () => (await freshRows('published_at IS NOT NULL')) === fresh.length, 'the relay\'s own events marked published');
    await waitFor(async () => (await freshRows('true')) === 0, 'the relay\'s own events to be pruned');

    // By now ~40 passes ran over the year-old pending, dead and discarded rows: all still there, untouched.
    expect(await ids()).toEqual([untouchable.pending, untouchable.dead, untouchable.discarded]);
    expect(await countRows(t.db.pool, t.db.schema, 'dead_at IS NOT NULL')).toBe(2);
    expect(lines.find((l) => l.msg === 'relay starting')).toMatchObject({ retentionMs: 2_000 });
    expect(lines.filter((l) => l.msg === 'pruned published events').reduce((n, l) => n + l.deleted!, 0)).toBe(oldPublished.length + fresh.length);

    // stop() ends retention before closing the pool: no pass fails on a closed pool, none runs after.
    await relay.stop();
    expect(lines.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual([]);
  });

  it('is off by default for an embedded relay: a year-old published event survives', async () => {
    const topic = randomTopic('retention-off');
    await createTopic(topic, 1);
    const [old] = await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, [{ topic, payload: {} }], { schema: t.db.schema }));
    await t.db.pool.query(`UPDATE ${table()} SET published_at = now() - interval '1 year' WHERE id = $1`, [old]);
    const { lines, logger } = recordingLogger();
    startRelay({ logger });
    // A retention pass would start with the relay and take ~1 ms here; a Kafka round trip takes longer.
    const [fresh] = await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, [{ topic, payload: {} }], { schema: t.db.schema }));
    await consumeTopic(topic, 1);
    await waitFor(async () => (await countRows(t.db.pool, t.db.schema, 'published_at IS NOT NULL')) === 2, 'the new event marked published');
    expect(await ids()).toEqual([old, fresh]);
    expect(lines.find((l) => l.msg === 'relay starting')).toMatchObject({ retentionMs: 0 });
  });

  it('outbox-relay run keeps 7 days by default: an 8-day-old published event goes, a 6-day-old one stays', async () => {
    const written = await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, [{ topic: 'a', payload: {} }, { topic: 'a', payload: {} }], { schema: t.db.schema }));
    await t.db.pool.query(`UPDATE ${table()} SET published_at = now() - $2 * interval '1 day' WHERE id = $1`, [written[0], 8]);
    await t.db.pool.query(`UPDATE ${table()} SET published_at = now() - $2 * interval '1 day' WHERE id = $1`, [written[1], 6]);
    const child = new RelayProcess(t.db.schema);
    try {
      await waitFor(async () => (await countRows(t.db.pool, t.db.schema)) === 1, 'the 8-day-old event to be pruned');
      expect(await ids()).toEqual([written[1]]);
      expect(child.output).toContain('"retentionMs":604800000');
    } finally {
      expect((await child.kill('SIGTERM')).code).toBe(0);
    }
  });

  it('refuses bad retention options at createRelay, naming them', () => {
    const create = (options: Partial<RelayOptions>) => () => t.relay(options);
    expect(create({ retentionMs: -1 })).toThrow(ConfigError);
    expect(create({ retentionMs: 1.5 })).toThrow(/retentionMs/);
    expect(create({ retentionMs: 1_000, retentionIntervalMs: 0 })).toThrow(/retentionIntervalMs/);
  });
});
