import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { discardDead, listDeadEvents, retryDead } from '../../src/ops/dead.js';
import { prune } from '../../src/ops/prune.js';
import { getStatus } from '../../src/ops/status.js';
import { writeManyWithOutbox } from '../../src/outbox/write.js';
import { databaseUrl, inTransaction } from '../helpers/db.js';
import { consumeTopic, createTopic, randomTopic } from '../helpers/kafka.js';
import { runCli, waitFor } from '../helpers/relayProcess.js';
import { useRelayTest } from '../helpers/relayTest.js';

const t = useRelayTest('dead-test');

const env = () => ({ DATABASE_URL: databaseUrl() });
const table = () => `${pg.escapeIdentifier(t.db.schema)}.outbox_events`;

/** Writes events and kills them with SQL, as the relay would after maxAttempts refusals. */
async function seedDead(topic: string, n: number): Promise<string[]> {
  const ids = await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, Array.from({ length: n }, (_, i) => ({ topic, payload: { i } })), { schema: t.db.schema }));
  await t.db.pool.query(`UPDATE ${table()} SET dead_at = now(), attempts = 5, last_error = 'MESSAGE_TOO_LARGE: too big', next_attempt_at = now() + interval '1 hour' WHERE id = ANY($1::uuid[])`, [ids]);
  return ids;
}

async function row(id: string) {
  const { rows } = await t.db.pool.query(`SELECT published_at, dead_at, discarded_at, attempts, last_error, next_attempt_at FROM ${table()} WHERE id = $1`, [id]);
  return rows[0] as { published_at: Date | null; dead_at: Date | null; discarded_at: Date | null; attempts: number; last_error: string | null; next_attempt_at: Date | null };
}

describe('dead letters', () => {
  it('dead retry puts an event back in the queue and a running relay publishes it', async () => {
    const topic = randomTopic('dead-retry');
    await createTopic(topic, 1);
    const [id] = await seedDead(topic, 1);
    const relay = t.relay();
    // The relay does not see a dead event.
    expect((await relay.processBatch()).claimed).toBe(0);
    void relay.start();

    const run = await runCli(['dead', 'retry', id!, '--schema', t.db.schema], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('requeued 1 dead events\n');
    await waitFor(async () => (await row(id!)).published_at !== null, 'the retried event to be published');
    const messages = await consumeTopic(topic, 1);
    expect(messages.map((m) => m.headers['outbox-event-id'])).toEqual([id]);
    // Published with a fresh attempt count (1), its old error cleared by the relay.
    expect(await row(id!)).toMatchObject({ dead_at: null, attempts: 1, last_error: null });
  });

  it('dead list shows dead events oldest first, filtered by --topic and --limit, never pending or published ones', async () => {
    const [a, b] = [randomTopic('dead-la'), randomTopic('dead-lb')];
    const deadA = await seedDead(a, 3);
    const deadB = await seedDead(b, 2);
    await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, [{ topic: a, payload: {} }], { schema: t.db.schema }));
    const list = async (...args: string[]) => {
      const run = await runCli(['dead', 'list', '--schema', t.db.schema, '--json', ...args], env());
      expect(run.code, run.stderr).toBe(0);
      return run.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; last_error: string; attempts: number });
    };
    expect((await list()).map((r) => r.id)).toEqual([...deadA, ...deadB]);
    expect((await list('--topic', b)).map((r) => r.id)).toEqual(deadB);
    expect((await list('--limit', '2')).map((r) => r.id)).toEqual(deadA.slice(0, 2));
    expect((await list())[0]).toMatchObject({ attempts: 5, last_error: 'MESSAGE_TOO_LARGE: too big' });
    const human = await runCli(['dead', 'list', '--schema', t.db.schema, '--topic', b], env());
    expect(human.stdout.split('\n')[0]).toMatch(/^SEQ\s+ID\s+TOPIC/);
    expect(human.stdout).toContain(deadB[1]);
  });

  it('discard sets discarded_at and keeps the row dead with its error; retry --all skips it; retry by ID takes it back', async () => {
    const topic = randomTopic('dead-discard');
    const [keep, drop, other] = await seedDead(topic, 3);
    const before = (await t.db.pool.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now;
    const run = await runCli(['dead', 'discard', drop!, '--schema', t.db.schema], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('discarded 1 dead events (0 already were)\n');
    const discarded = await row(drop!);
    expect(discarded).toMatchObject({ published_at: null, attempts: 5, last_error: 'MESSAGE_TOO_LARGE: too big' });
    expect(discarded.dead_at).not.toBeNull();
    expect(discarded.discarded_at!.getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect((await row(keep!)).discarded_at).toBeNull();
    // Discarding twice changes nothing, not even the time.
    expect(await discardDead(t.db.pool, [drop!], { schema: t.db.schema })).toEqual({ discarded: [], alreadyDiscarded: [drop], notDead: [] });
    expect((await row(drop!)).discarded_at).toEqual(discarded.discarded_at);
    expect((await listDeadEvents(t.db.pool, { schema: t.db.schema })).map((r) => r.id)).toEqual([keep, other]);
    expect((await listDeadEvents(t.db.pool, { schema: t.db.schema, includeDiscarded: true })).map((r) => [r.id, r.discarded_at])).toEqual([
      [keep, null],
      [drop, discarded.discarded_at],
      [other, null],
    ]);
    const human = await runCli(['dead', 'list', '--include-discarded', '--schema', t.db.schema], env());
    expect(human.stdout.split('\n')[0]).toMatch(/DEAD AT\s+DISCARDED AT\s+LAST ERROR$/);
    expect(human.stdout.split('\n').find((l) => l.includes(drop!))).toContain(discarded.discarded_at!.toISOString());
    expect(await getStatus(t.db.pool, { schema: t.db.schema })).toMatchObject({ dead: 2, discarded: 1, backlog: 0 });

    const all = await retryDead(t.db.pool, { all: true }, { schema: t.db.schema });
    expect(all).toEqual({ retried: [keep, other], notDead: [] });
    expect((await row(drop!)).dead_at).not.toBeNull();
    expect(await row(keep!)).toMatchObject({ dead_at: null, attempts: 0, next_attempt_at: null, last_error: 'MESSAGE_TOO_LARGE: too big' });

    expect(await retryDead(t.db.pool, { ids: [drop!] }, { schema: t.db.schema })).toEqual({ retried: [drop], notDead: [] });
    expect(await row(drop!)).toMatchObject({ dead_at: null, discarded_at: null, attempts: 0, last_error: 'MESSAGE_TOO_LARGE: too big' });
    expect(await getStatus(t.db.pool, { schema: t.db.schema })).toMatchObject({ dead: 0, discarded: 0, backlog: 3 });
  });

  it('prune never deletes dead events, discarded or not, however old', async () => {
    const topic = randomTopic('dead-prune');
    const [kept, discarded] = await seedDead(topic, 2);
    await discardDead(t.db.pool, [discarded!], { schema: t.db.schema });
    await t.db.pool.query(`UPDATE ${table()} SET created_at = now() - interval '1 year', dead_at = now() - interval '1 year', discarded_at = now() - interval '1 year'`);
    const [published] = await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, [{ topic, payload: {} }], { schema: t.db.schema }));
    await t.db.pool.query(`UPDATE ${table()} SET published_at = now() - interval '1 year' WHERE id = $1`, [published]);
    expect((await prune(t.db.pool, { schema: t.db.schema, olderThanMs: 1_000 })).deleted).toBe(1);
    const { rows } = await t.db.pool.query<{ id: string }>(`SELECT id FROM ${table()} ORDER BY seq`);
    expect(rows.map((r) => r.id)).toEqual([kept, discarded]);
  });

  it('retry --all --topic requeues only that topic, in steps, and leaves the rest dead', async () => {
    const [a, b] = [randomTopic('dead-ra'), randomTopic('dead-rb')];
    const deadA = await seedDead(a, 1_203);
    const deadB = await seedDead(b, 2);
    const run = await runCli(['dead', 'retry', '--all', '--topic', a, '--schema', t.db.schema, '--json'], env());
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).retried).toEqual(deadA);
    expect((await listDeadEvents(t.db.pool, { schema: t.db.schema })).map((r) => r.id)).toEqual(deadB);
  });

  it('names what is wrong: exit 1 for IDs that are not dead events, 2 for malformed arguments', async () => {
    const topic = randomTopic('dead-bad');
    const [dead] = await seedDead(topic, 1);
    const [pending] = await inTransaction(t.db.pool, (tx) => writeManyWithOutbox(tx, [{ topic, payload: {} }], { schema: t.db.schema }));
    const partly = await runCli(['dead', 'retry', dead!, pending!, '--schema', t.db.schema], env());
    expect(partly.code).toBe(1);
    expect(partly.stderr).toContain(pending);
    expect((await row(dead!)).dead_at).toBeNull(); // the good one was still retried
    const notDead = await runCli(['dead', 'discard', pending!, '--schema', t.db.schema], env());
    expect(notDead.code).toBe(1);
    expect(await row(pending!)).toMatchObject({ discarded_at: null, dead_at: null, last_error: null });

    for (const [args, named] of [
      [['retry', 'not-a-uuid'], 'ids'],
      [['retry'], 'ids'],
      [['retry', '--all', dead!], '--all'],
      [['list', '--topic', 'bad topic'], '--topic'],
      [['list', '--limit', '0'], '--limit'],
      [['discard'], 'ids'],
    ] as [string[], string][]) {
      const run = await runCli(['dead', ...args, '--schema', t.db.schema], env());
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain(named);
    }
  });
});
