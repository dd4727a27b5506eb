import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject, onTestFailed } from 'vitest';
import { migrate } from '../../src/migrate.js';

export function databaseUrl(): string {
  return inject('databaseUrl');
}

export interface TestSchema {
  schema: string;
  pool: pg.Pool;
  /** Drops the schema unless the test failed (kept for inspection, as pg-boss does) and closes the pool. */
  cleanup(): Promise<void>;
}

/** A fresh, migrated schema named after the test, so tests never see each other's rows. */
export async function createTestSchema(label = 'test'): Promise<TestSchema> {
  const schema = `t_${label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: 4 });
  const client = await pool.connect();
  try {
    await migrate(client, { schema });
  } finally {
    client.release();
  }
  let failed = false;
  try {
    onTestFailed(() => {
      failed = true;
    });
  } catch {
    // called outside a test (beforeAll): cleanup drops unconditionally
  }
  return {
    schema,
    pool,
    async cleanup() {
      if (!failed) await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      else console.warn(`kept schema ${schema} of a failed test for inspection`);
      await pool.end();
    },
  };
}

/** Runs `fn` in a transaction on its own client; commits unless `rollback` is set or `fn` throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>, rollback = false): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export async function countRows(pool: pg.Pool, schema: string, where = 'true'): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(schema)}.outbox_events WHERE ${where}`);
  return Number(rows[0]!.n);
}
