// Migrates a scratch database and returns `pg_dump --schema-only` of the outbox schema, without the lines that vary
// by machine (version comments, SET statements), so two dumps of the same migrations compare equal.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../dist/migrate.js';

export async function dumpMigratedSchema(databaseUrl) {
  const scratch = `outbox_snapshot_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${scratch}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${scratch}`;
  try {
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    await migrate(client, { schema: 'outbox' });
    await client.end();
    const dump = execFileSync('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', '--schema=outbox', url.toString()], { encoding: 'utf8' });
    return dump
      .split('\n')
      // \restrict/\unrestrict carry a random key per dump (pg_dump 15.14+).
      .filter((line) => !/^(--|SET |SELECT pg_catalog.set_config|\\(un)?restrict )/.test(line))
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n';
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${scratch}`);
    await admin.end();
  }
}
