import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrate, listMigrations } from '../../src/migrate.js';
import { ConfigError } from '../../src/errors.js';
import { databaseUrl } from '../helpers/db.js';

describe('migrate', () => {
  it('applies each migration once, even when runs race', async () => {
    const schema = `t_migrate_${randomBytes(4).toString('hex')}`;
    const clients = Array.from({ length: 4 }, () => new pg.Client({ connectionString: databaseUrl() }));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const results = await Promise.all(clients.map((c) => migrate(c, { schema })));
      const total = (await listMigrations()).length;
      expect(results.reduce((n, r) => n + r.applied.length, 0)).toBe(total);
      const again = await migrate(clients[0]!, { schema });
      expect(again).toEqual({ applied: [], alreadyApplied: (await listMigrations()).map((m) => m.name) });
      const { rows } = await clients[0]!.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'outbox_events_ready_idx'`, [schema]);
      expect(rows[0].indexdef).toMatch(/WHERE \(\(published_at IS NULL\) AND \(dead_at IS NULL\) AND \(next_attempt_at IS NULL\)\)/);
      await clients[0]!.query(`DROP SCHEMA ${schema} CASCADE`);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('000004 turns the old "discarded at <time>: " last_error prefix into discarded_at, and indexes dead rows', async () => {
    const schema = `t_migrate4_${randomBytes(4).toString('hex')}`;
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      // A schema as 000001–000003 left it, with dead rows written by the old discard.
      const [first3, m4] = [(await listMigrations()).slice(0, 3), (await listMigrations())[3]!];
      expect(m4.name).toBe('000004.sql');
      await client.query(`CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
      for (const m of first3) await client.query(m.sql);
      await client.query(`CREATE TABLE outbox_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      await client.query(`INSERT INTO outbox_migrations (name) SELECT unnest($1::text[])`, [first3.map((m) => m.name)]);
      await client.query(
        `INSERT INTO outbox_events (id, topic, payload, dead_at, published_at, last_error) VALUES
           ('00000000-0000-4000-8000-000000000001', 't', '', now(), NULL, 'discarded at 2024-03-05T06:07:08Z: MESSAGE_TOO_LARGE: big'),
           ('00000000-0000-4000-8000-000000000002', 't', '', now(), NULL, 'MESSAGE_TOO_LARGE: discarded at the broker'),
           ('00000000-0000-4000-8000-000000000003', 't', '', NULL, NULL, 'discarded at 2024-03-05T06:07:08Z: not dead, left alone'),
           ('00000000-0000-4000-8000-000000000004', 't', '', now(), NULL, NULL)`,
      );
      await client.query('RESET search_path');

      expect(await migrate(client, { schema })).toMatchObject({ applied: ['000004.sql'] });
      const { rows } = await client.query(`SELECT id, discarded_at, last_error FROM ${schema}.outbox_events ORDER BY id`);
      expect(rows).toEqual([
        { id: '00000000-0000-4000-8000-000000000001', discarded_at: new Date('2024-03-05T06:07:08Z'), last_error: 'MESSAGE_TOO_LARGE: big' },
        { id: '00000000-0000-4000-8000-000000000002', discarded_at: null, last_error: 'MESSAGE_TOO_LARGE: discarded at the broker' },
        { id: '00000000-0000-4000-8000-000000000003', discarded_at: null, last_error: 'discarded at 2024-03-05T06:07:08Z: not dead, left alone' },
        { id: '00000000-0000-4000-8000-000000000004', discarded_at: null, last_error: null },
      ]);
      const index = await client.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'outbox_events_dead_idx'`, [schema]);
      expect(index.rows[0].indexdef).toMatch(/\(seq\) WHERE \(\(dead_at IS NOT NULL\) AND \(published_at IS NULL\)\)/);
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      await expect(migrate(client, { schema: 'x; DROP TABLE y' })).rejects.toBeInstanceOf(ConfigError);
    } finally {
      await client.end();
    }
  });
});
