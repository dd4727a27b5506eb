import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script shared with `npm run schema:snapshot`
import { dumpMigratedSchema } from '../../scripts/schema-dump.mjs';
import { databaseUrl } from '../helpers/db.js';

describe('migrations/schema.snapshot.sql', () => {
  it('matches what the migrations produce (run `npm run schema:snapshot` after adding one)', async () => {
    const committed = readFileSync(new URL('../../migrations/schema.snapshot.sql', import.meta.url), 'utf8');
    expect(await dumpMigratedSchema(databaseUrl())).toBe(committed);
  });
});
