import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processOnce } from '../../src/inbox/processOnce.js';
import { pruneProcessedMessages } from '../../src/inbox/prune.js';
import { InboxTransactionAbortedError } from '../../src/inbox/errors.js';
import { createTestSchema, databaseUrl, type TestSchema } from '../helpers/db.js';
import { runCli, waitFor } from '../helpers/relayProcess.js';

let db: TestSchema;
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
  // The domain table: applying an event adds to a balance, so a second application is visible.
  await db.pool.query(`CREATE TABLE ${db.schema}.accounts (id text PRIMARY KEY, balance bigint NOT NULL)`);
  await db.pool.query(`INSERT INTO ${db.schema}.accounts VALUES ('alice', 0)`);
});
afterEach(async () => db.cleanup());

const credit = (amount: number) => async (tx: pg.PoolClient) => {
  await tx.query(`UPDATE ${db.schema}.accounts SET balance = balance + $1 WHERE id = 'alice'`, [amount]);
  return amount;
};
const balance = async () => Number((await db.pool.query(`SELECT balance FROM ${db.schema}.accounts WHERE id = 'alice'`)).rows[0].balance);
const processedRows = async () =>
  (await db.pool.query(`SELECT consumer, event_id FROM ${db.schema}.processed_messages ORDER BY consumer, event_id`)).rows;

describe('processOnce', () => {
  it('applies an event once however often it is delivered', async () => {
    const eventId = randomUUID();
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await processOnce(db.pool, { consumer: 'billing', eventId, schema: db.schema }, credit(10)));
    expect(outcomes).toEqual([{ processed: true, result: 10 }, { processed: false }, { processed: false }]);
    expect(await balance()).toBe(10);
    expect(await processedRows()).toEqual([{ consumer: 'billing', event_id: eventId }]);
  });

  it('de-duplicates per consumer: two consumers each apply the same event once', async () => {
    const eventId = randomUUID();
    for (const consumer of ['billing', 'audit', 'billing', 'audit']) await processOnce(db.pool, { consumer, eventId, schema: db.schema }, credit(1));
    expect(await balance()).toBe(2);
    expect(await processedRows()).toHaveLength(2);
  });

  it('rolls back everything when the handler throws, and applies the event on the next delivery', async () => {
    const eventId = randomUUID();
    const failing = async (tx: pg.PoolClient) => {
      await credit(10)(tx); // applied, then the handler fails: this must not survive
      throw new Error('downstream validation failed');
    };
    await expect(processOnce(db.pool, { consumer: 'billing', eventId, schema: db.schema }, failing)).rejects.toThrow('downstream validation failed');
    expect(await balance()).toBe(0);
    expect(await processedRows()).toEqual([]);

    expect(await processOnce(db.pool, { consumer: 'billing', eventId, schema: db.schema }, credit(10))).toEqual({ processed: true, result: 10 });
    expect(await balance()).toBe(10);
  });

  it('refuses to report success when the handler swallowed a failed statement (COMMIT became ROLLBACK)', async () => {
    const eventId = randomUUID();
    const swallowing = async (tx: pg.PoolClient) => {
      await credit(10)(tx);
      await tx.query('SELECT 1 / 0').catch(() => undefined);
    };
    await expect(processOnce(db.pool, { consumer: 'billing', eventId, schema: db.schema }, swallowing)).rejects.toBeInstanceOf(InboxTransactionAbortedError);
    expect(await balance()).toBe(0);
    expect(await processedRows()).toEqual([]);
  });
});

describe('processOnce racing on one duplicate (separate connections)', () => {
  /** Two pools with their own application_name, so the test can see which backend waits on a lock. */
  async function racers() {
    const a = new pg.Pool({ connectionString: databaseUrl(), application_name: `inbox-a-${db.schema}`, max: 1 });
    const b = new pg.Pool({ connectionString: databaseUrl(), application_name: `inbox-b-${db.schema}`, max: 1 });
    const bWaitsOnLock = async () =>
      (await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [`inbox-b-${db.schema}`])).rowCount === 1;
    return { a, b, bWaitsOnLock, end: () => Promise.all([a.end(), b.end()]) };
  }

  for (const firstOutcome of ['commits', 'rolls back'] as const) {
    it(`the second waits for the first, then ${firstOutcome === 'commits' ? 'skips' : 'applies it'} (first ${firstOutcome})`, async () => {
      const { a, b, bWaitsOnLock, end } = await racers();
      try {
        const eventId = randomUUID();
        const options = { consumer: 'billing', eventId, schema: db.schema };
        let open!: () => void;
        const gate = new Promise<void>((resolve) => (open = resolve));
        let aInside = false;
        const first = processOnce(a, options, async (tx) => {
          await credit(10)(tx);
          aInside = true;
          await gate; // hold the uncommitted processed_messages row while B arrives
          if (firstOutcome === 'rolls back') throw new Error('first delivery failed');
          return 'a';
        });
        await waitFor(() => aInside, 'the first handler to run');
        let bCalled = 0;
        const second = processOnce(b, options, async (tx) => (bCalled++, credit(10)(tx)));
        await waitFor(bWaitsOnLock, 'the second insert to wait on the first transaction');
        expect(bCalled).toBe(0);
        open();
        if (firstOutcome === 'commits') {
          expect(await first).toEqual({ processed: true, result: 'a' });
          expect(await second).toEqual({ processed: false });
        } else {
          await expect(first).rejects.toThrow('first delivery failed');
          expect(await second).toEqual({ processed: true, result: 10 });
        }
        expect(bCalled).toBe(firstOutcome === 'commits' ? 0 : 1);
        expect(await balance()).toBe(10);
        expect(await processedRows()).toHaveLength(1);
      } finally {
        await end();
      }
    });
  }

  it('eight concurrent deliveries of one event apply it once', async () => {
    const pool = new pg.Pool({ connectionString: databaseUrl(), max: 8 });
    try {
      const eventId = randomUUID();
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => processOnce(pool, { consumer: 'billing', eventId, schema: db.schema }, credit(10))));
      expect(outcomes.filter((o) => o.processed)).toHaveLength(1);
      expect(await balance()).toBe(10);
    } finally {
      await pool.end();
    }
  });
});

describe('pruning processed_messages', () => {
  async function seed(consumer: string, ages: string[]): Promise<void> {
    for (const age of ages) {
      const eventId = randomUUID();
      await processOnce(db.pool, { consumer, eventId, schema: db.schema }, async () => undefined);
      await db.pool.query(`UPDATE ${db.schema}.processed_messages SET processed_at = now() - $1::interval WHERE event_id = $2`, [age, eventId]);
    }
  }

  it('deletes only rows older than the cutoff, in bounded batches, optionally for one consumer', async () => {
    await seed('billing', ['40 days', '35 days', '31 days', '29 days', '1 hour']);
    await seed('audit', ['60 days', '45 days', '2 days']);
    const thirtyDays = 30 * 86_400_000;
    // batchSize 2 forces three DELETE statements for billing's 3 old rows.
    expect(await pruneProcessedMessages(db.pool, { olderThanMs: thirtyDays, consumer: 'billing', schema: db.schema, batchSize: 2 })).toBe(3);
    const left = async () => (await db.pool.query(`SELECT consumer, count(*)::int AS n FROM ${db.schema}.processed_messages GROUP BY consumer ORDER BY consumer`)).rows;
    expect(await left()).toEqual([{ consumer: 'audit', n: 3 }, { consumer: 'billing', n: 2 }]);
    expect(await pruneProcessedMessages(db.pool, { olderThanMs: thirtyDays, schema: db.schema })).toBe(2);
    expect(await left()).toEqual([{ consumer: 'audit', n: 1 }, { consumer: 'billing', n: 2 }]);
  });

  it('outbox-relay inbox prune --older-than 30d deletes and reports the count', async () => {
    await seed('billing', ['40 days', '31 days', '1 day']);
    await seed('audit', ['90 days']);
    const env = { DATABASE_URL: databaseUrl() };
    const billing = await runCli(['inbox', 'prune', '--older-than', '30d', '--consumer', 'billing', '--schema', db.schema], env);
    expect(billing.stderr).toBe('');
    expect(billing.code).toBe(0);
    expect(billing.stdout).toMatch(/"deleted":2\b.*pruned processed messages/);
    const all = await runCli(['inbox', 'prune', '--older-than', '30d', '--schema', db.schema], env);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/"deleted":1\b/);
    expect((await processedRows()).map((r) => r.consumer)).toEqual(['billing']);
  });

  it('exits 2 naming --older-than when it is missing or not a duration, deleting nothing', async () => {
    await seed('billing', ['40 days']);
    const env = { DATABASE_URL: databaseUrl() };
    const bad = await runCli(['inbox', 'prune', '--older-than', '30x', '--schema', db.schema], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--older-than must be a duration like 90m, 2h, 7d/);
    const missing = await runCli(['inbox', 'prune', '--schema', db.schema], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--older-than/);
    expect(await processedRows()).toHaveLength(1);
  });
});
