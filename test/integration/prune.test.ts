import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prune, startRetention } from '../../src/ops/prune.js';
import { writeManyWithOutbox } from '../../src/outbox/write.js';
import { countRows, createTestSchema, databaseUrl, inTransaction, type TestSchema } from '../helpers/db.js';
import { runCli, waitFor } from '../helpers/relayProcess.js';

let db: TestSchema;
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => {
  await db.cleanup();
});

const DAY = 86_400;

/** `n` rows in `state`, created and (when published/dead) stamped `ageSeconds` ago. */
async function seed(n: number, state: 'pending' | 'published' | 'dead', ageSeconds: number): Promise<string[]> {
  const ids = await inTransaction(db.pool, (tx) => writeManyWithOutbox(tx, Array.from({ length: n }, () => ({ topic: 'prune', payload: {} })), { schema: db.schema }));
  await db.pool.query(
    `UPDATE ${pg.escapeIdentifier(db.schema)}.outbox_events
     SET created_at = now() - $2 * interval '1 second',
         published_at = CASE WHEN $3 = 'published' THEN now() - $2 * interval '1 second' END,
         dead_at = CASE WHEN $3 = 'dead' THEN now() - $2 * interval '1 second' END
     WHERE id = ANY($1::uuid[])`,
    [ids, ageSeconds, state],
  );
  return ids;
}

describe('prune', () => {
  it('deletes only events published longer ago than the cutoff, in batches; never pending or dead ones, however old', async () => {
    const old = await seed(50, 'published', 30 * DAY);
    const recent = await seed(5, 'published', 1 * DAY);
    const ancientPending = await seed(3, 'pending', 365 * DAY);
    const ancientDead = await seed(4, 'dead', 365 * DAY);

    const dry = await prune(db.pool, { schema: db.schema, olderThanMs: 7 * DAY * 1_000, dryRun: true });
    expect(dry).toMatchObject({ deleted: 50, dryRun: true });
    expect(await countRows(db.pool, db.schema)).toBe(62);

    const result = await prune(db.pool, { schema: db.schema, olderThanMs: 7 * DAY * 1_000, batchSize: 7 });
    // 7 full batches (49) and a last one of 1, which, being short, ends the loop.
    expect(result).toMatchObject({ deleted: 50, batches: 8, dryRun: false });
    const { rows } = await db.pool.query<{ id: string }>(`SELECT id FROM ${pg.escapeIdentifier(db.schema)}.outbox_events ORDER BY seq`);
    expect(rows.map((r) => r.id)).toEqual([...recent, ...ancientPending, ...ancientDead]);
    expect(rows.some((r) => old.includes(r.id))).toBe(false);

    expect((await prune(db.pool, { schema: db.schema, olderThanMs: 7 * DAY * 1_000 })).deleted).toBe(0);
  });

  it('the CLI prunes, reports counts, and refuses --older-than 0 or nonsense with exit 2', async () => {
    await seed(12, 'published', 10 * DAY);
    await seed(2, 'pending', 10 * DAY);
    const env = { DATABASE_URL: databaseUrl() };
    const dry = await runCli(['prune', '--schema', db.schema, '--older-than', '7d', '--dry-run', '--json'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ deleted: 12, dryRun: true });
    expect(await countRows(db.pool, db.schema)).toBe(14);

    const real = await runCli(['prune', '--schema', db.schema, '--older-than', '7d', '--batch-size', '5'], env);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toBe('deleted 12 events published more than 7d ago in 3 batches, ' + real.stdout.match(/\d+ ms/)![0] + '\n');
    expect(await countRows(db.pool, db.schema)).toBe(2);

    for (const bad of [['--older-than', '0d'], ['--older-than', 'a week'], ['--older-than', '7d', '--batch-size', '0']]) {
      const run = await runCli(['prune', '--schema', db.schema, ...bad], env);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(bad.at(-2)!);
    }
    expect(await countRows(db.pool, db.schema)).toBe(2);
  });

  it('startRetention prunes on its own until stopped; retention 0 never deletes', async () => {
    await seed(3, 'published', 2 * DAY);
    const disabled = startRetention(db.pool, { schema: db.schema, retentionMs: 0, intervalMs: 10 });
    await disabled();
    expect(await countRows(db.pool, db.schema)).toBe(3);

    const stop = startRetention(db.pool, { schema: db.schema, retentionMs: DAY * 1_000, intervalMs: 20 });
    try {
      await waitFor(async () => (await countRows(db.pool, db.schema)) === 0, 'the first retention pass');
      // Later passes keep going: a row that ages past the retention while it runs is pruned too.
      await seed(2, 'published', 3 * DAY);
      await waitFor(async () => (await countRows(db.pool, db.schema)) === 0, 'a later retention pass');
    } finally {
      await stop();
    }
    // Stopped means stopped: nothing deletes a row that qualifies now.
    await seed(1, 'published', 3 * DAY);
    await new Promise((r) => setTimeout(r, 100)); // 5 intervals: a timer left running would have pruned by now
    expect(await countRows(db.pool, db.schema)).toBe(1);
  });
});
