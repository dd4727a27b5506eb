import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getStatus } from '../../src/ops/status.js';
import { writeManyWithOutbox } from '../../src/outbox/write.js';
import { createTestSchema, databaseUrl, inTransaction, type TestSchema } from '../helpers/db.js';
import { runCli } from '../helpers/relayProcess.js';

let db: TestSchema;
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => {
  await db.cleanup();
});

const env = () => ({ DATABASE_URL: databaseUrl() });

/**
 * Rows in every state, dated relative to PostgreSQL's now(). Published "recently" means 10 s ago, so the
 * last-minute count stays put for the 50 s a test could take between two readings.
 */
async function seed(rows: { topic: string; state: 'pending' | 'published' | 'dead' | 'discarded'; ageSeconds: number }[]): Promise<void> {
  const ids = await inTransaction(db.pool, (tx) => writeManyWithOutbox(tx, rows.map((r) => ({ topic: r.topic, payload: {} })), { schema: db.schema }));
  await db.pool.query(
    `UPDATE ${pg.escapeIdentifier(db.schema)}.outbox_events e
     SET created_at = now() - s.age * interval '1 second' - interval '1 second',
         published_at = CASE WHEN s.state = 'published' THEN now() - s.age * interval '1 second' END,
         dead_at = CASE WHEN s.state IN ('dead', 'discarded') THEN now() - s.age * interval '1 second' END,
         discarded_at = CASE WHEN s.state = 'discarded' THEN now() END,
         last_error = CASE WHEN s.state IN ('dead', 'discarded') THEN 'MESSAGE_TOO_LARGE: too big' END
     FROM unnest($1::uuid[], $2::text[], $3::int[]) AS s(id, state, age) WHERE e.id = s.id`,
    [ids, rows.map((r) => r.state), rows.map((r) => r.ageSeconds)],
  );
}

const repeat = <T,>(n: number, row: T): T[] => Array.from({ length: n }, () => row);

describe('status', () => {
  it('counts backlog, lag, throughput and dead events per topic, totals being the sums', async () => {
    await seed([
      ...repeat(3, { topic: 'orders', state: 'pending' as const, ageSeconds: 0 }),
      { topic: 'orders', state: 'pending', ageSeconds: 7_200 },
      ...repeat(5, { topic: 'orders', state: 'published' as const, ageSeconds: 10 }),
      ...repeat(4, { topic: 'orders', state: 'published' as const, ageSeconds: 1_800 }),
      { topic: 'orders', state: 'published', ageSeconds: 7_200 },
      { topic: 'payments', state: 'pending', ageSeconds: 60 },
      ...repeat(2, { topic: 'payments', state: 'dead' as const, ageSeconds: 600 }),
      { topic: 'payments', state: 'discarded', ageSeconds: 600 },
      { topic: 'payments', state: 'published', ageSeconds: 10 },
    ]);
    const status = await getStatus(db.pool, { schema: db.schema });
    expect(status).toMatchObject({ backlog: 5, publishedLastMinute: 6, publishedLastHour: 10, dead: 2, discarded: 1 });
    // The oldest pending row was created 7,201 s before the seed's now(), read a moment later.
    expect(status.lagMs! / 1_000).toBeGreaterThanOrEqual(7_201);
    expect(status.lagMs! / 1_000).toBeLessThan(7_201 + 30);
    expect(status.topics.map((t) => [t.topic, t.backlog, t.publishedLastMinute, t.publishedLastHour, t.dead, t.discarded])).toEqual([
      ['orders', 4, 5, 9, 0, 0],
      ['payments', 1, 1, 1, 2, 1],
    ]);
    expect(status.topics[1]!.lagMs! / 1_000).toBeGreaterThanOrEqual(61);
  });

  it('counts dead and discarded events from outbox_events_dead_idx, not by reading the table', async () => {
    await seed([{ topic: 'orders', state: 'dead', ageSeconds: 60 }, { topic: 'orders', state: 'discarded', ageSeconds: 60 }]);
    // With sequential scans priced out, the planner takes an index for every branch it can: if the dead branch's
    // WHERE stopped matching the index's predicate (or the index were gone), it would walk seq_idx or the primary key.
    const client = await db.pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      let plan = '';
      const explaining = {
        query: async (text: string, params?: unknown[]) => {
          const { rows } = await client.query(`EXPLAIN ${text}`, params);
          plan = rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
          return { rows: [{ now: new Date(), topic: null }] };
        },
      };
      await getStatus(explaining as unknown as pg.Pool, { schema: db.schema });
      expect(plan).toMatch(/Index (Only )?Scan using outbox_events_dead_idx|Bitmap Index Scan on outbox_events_dead_idx/);
      expect(plan).not.toMatch(/using outbox_events_(seq_idx|pkey)/);
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });

  it('an empty outbox reads as zeros, not as an error', async () => {
    expect(await getStatus(db.pool, { schema: db.schema })).toMatchObject({ backlog: 0, lagMs: null, oldestPendingAt: null, publishedLastMinute: 0, dead: 0, topics: [] });
  });

  it('the CLI table shows the numbers --json gives', async () => {
    await seed([
      ...repeat(7, { topic: 'orders', state: 'pending' as const, ageSeconds: 300 }),
      ...repeat(3, { topic: 'orders', state: 'published' as const, ageSeconds: 10 }),
      ...repeat(2, { topic: 'invoices', state: 'dead' as const, ageSeconds: 10 }),
      ...repeat(4, { topic: 'invoices', state: 'published' as const, ageSeconds: 600 }),
    ]);
    const [json, table] = await Promise.all([runCli(['status', '--schema', db.schema, '--json'], env()), runCli(['status', '--schema', db.schema], env())]);
    expect(json.code, json.stderr).toBe(0);
    expect(table.code, table.stderr).toBe(0);
    const s = JSON.parse(json.stdout);
    expect(s).toMatchObject({ backlog: 7, publishedLastMinute: 3, publishedLastHour: 7, dead: 2, discarded: 0 });
    expect(table.stdout).toContain(`backlog     ${s.backlog} events, oldest 5m`);
    expect(table.stdout).toContain(`published   ${s.publishedLastMinute} last minute, ${s.publishedLastHour} last hour`);
    expect(table.stdout).toContain(`dead        ${s.dead} (discarded ${s.discarded})`);
    const rows = table.stdout.trim().split('\n').slice(-2).map((l) => l.split(/\s{2,}/));
    const fromJson = s.topics.map((t: Record<string, number | string>) => [t.topic, String(t.backlog), expect.any(String), String(t.publishedLastMinute), String(t.publishedLastHour), String(t.dead), String(t.discarded)]);
    expect(rows).toEqual(fromJson);
  });

  it('exits 3 when --max-lag or --max-backlog is exceeded, 0 within them, 2 on a bad threshold', async () => {
    await seed(repeat(4, { topic: 'orders', state: 'pending' as const, ageSeconds: 600 }));
    const run = (...args: string[]) => runCli(['status', '--schema', db.schema, '--json', ...args], env());
    const [lag, backlog, fine, bad, badN] = await Promise.all([
      run('--max-lag', '5m'),
      run('--max-backlog', '3'),
      run('--max-lag', '1h', '--max-backlog', '4'),
      run('--max-lag', 'soon'),
      run('--max-backlog', '-1'),
    ]);
    expect(lag.code).toBe(3);
    expect(lag.stderr).toMatch(/lag \d+ ms exceeds the maximum of 300000 ms/);
    expect(JSON.parse(lag.stdout).exceeded).toHaveLength(1);
    expect(backlog.code).toBe(3);
    expect(backlog.stderr).toContain('backlog 4 exceeds the maximum of 3');
    expect(fine.code, fine.stderr).toBe(0);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-lag');
    expect(badN.code).toBe(2);
    expect(badN.stderr).toContain('--max-backlog');
  });
});
