import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimBatch, claimBatchSql } from '../../src/db/claimBatch.js';
import { createTestSchema, inTransaction, type TestSchema } from '../helpers/db.js';

let db: TestSchema;
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => db.cleanup());

/** Rows written straight into the table: `backedOff` waiting out a backoff (due when `due`), then `ready` fresh ones. */
async function seed(backedOff: number, due: number, ready: number): Promise<void> {
  const table = `${db.schema}.outbox_events`;
  await db.pool.query(
    `INSERT INTO ${table} (id, topic, payload, next_attempt_at, attempts)
     SELECT gen_random_uuid(), 'missing', '\\x00', now() + interval '1 hour', 1 FROM generate_series(1, $1)`,
    [backedOff],
  );
  await db.pool.query(
    `INSERT INTO ${table} (id, topic, payload, next_attempt_at, attempts)
     SELECT gen_random_uuid(), 'retry', '\\x00', now() - interval '1 second', 1 FROM generate_series(1, $1)`,
    [due],
  );
  await db.pool.query(`INSERT INTO ${table} (id, topic, payload) SELECT gen_random_uuid(), 'fresh', '\\x00' FROM generate_series(1, $1)`, [ready]);
  await db.pool.query(`VACUUM ANALYZE ${table}`);
}

function rowsRemovedByFilter(plan: Record<string, unknown>): number {
  const own = Number(plan['Rows Removed by Filter'] ?? 0);
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return own + children.reduce((n, child) => n + rowsRemovedByFilter(child), 0);
}

describe('claim', () => {
  it('takes due retries first, then ready events, in seq order, never more than the limit', async () => {
    await seed(100, 3, 20);
    const events = await inTransaction(db.pool, (tx) => claimBatch(tx, db.schema, 10));
    expect(events.map((e) => e.topic)).toEqual([...Array(3).fill('retry'), ...Array(7).fill('fresh')]);
    const seqs = events.map((e) => BigInt(e.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : 1)));
  });

  it('never steps over events waiting out a backoff (no head-of-line scan)', async () => {
    await seed(20_000, 0, 1_000);
    const { rows } = await inTransaction(db.pool, (tx) =>
      tx.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${claimBatchSql(db.schema)}`.replace('$1 - (', '500 - (').replace('LIMIT $1\n', 'LIMIT 500\n')),
    );
    const plan = (rows[0]['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0]!.Plan;
    expect(Number(plan['Actual Rows'])).toBe(500);
    // With one index for all pending rows the claim filtered out all 20,000 backed-off rows on every call.
    expect(rowsRemovedByFilter(plan)).toBe(0);
  });
});
