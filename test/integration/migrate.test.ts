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
      const { rows } = await clients[0]!.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'outbox_events_pending_idx'`, [schema]);
      expect(rows[0].indexdef).toMatch(/WHERE \(\(published_at IS NULL\) AND \(dead_at IS NULL\)\)/);
      await clients[0]!.query(`DROP SCHEMA ${schema} CASCADE`);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
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
