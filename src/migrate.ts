import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pg from 'pg';
import { quoteSchema, DEFAULT_SCHEMA } from './db/identifiers.js';
import { silentLogger, type Logger } from './log.js';

/** migrations/ ships with the package, next to dist/ and src/. */
const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

/** Any constant works; it only has to be the same for every outbox-relay process. "outbox" in ASCII. */
const MIGRATION_LOCK_KEY = 0x6f7574626f78;

export interface MigrateOptions {
  /** Schema holding the outbox tables; created when missing. Default `outbox`. */
  schema?: string;
  logger?: Logger;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export async function listMigrations(): Promise<{ name: string; sql: string }[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{6}\.sql$/.test(f)).sort();
  return Promise.all(files.map(async (name) => ({ name, sql: await readFile(path.join(MIGRATIONS_DIR, name), 'utf8') })));
}

/**
 * Applies the missing migrations in order, each in its own transaction. A session-level advisory lock serialises
 * concurrent runs (several relays starting at once), so each migration is applied exactly once.
 */
export async function migrate(client: pg.ClientBase, options: MigrateOptions = {}): Promise<MigrateResult> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const quoted = quoteSchema(schema);
  const logger = options.logger ?? silentLogger();
  const migrations = await listMigrations();

  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.outbox_migrations (
         name text PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set(
      (await client.query<{ name: string }>(`SELECT name FROM ${quoted}.outbox_migrations`)).rows.map((r) => r.name),
    );
    const result: MigrateResult = { applied: [], alreadyApplied: [] };
    for (const { name, sql } of migrations) {
      if (done.has(name)) {
        result.alreadyApplied.push(name);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${quoted}`);
        await client.query(sql);
        await client.query(`INSERT INTO ${quoted}.outbox_migrations (name) VALUES ($1)`, [name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      logger.info({ migration: name, schema }, 'applied migration');
      result.applied.push(name);
    }
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}
