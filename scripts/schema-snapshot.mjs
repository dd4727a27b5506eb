#!/usr/bin/env node
// Writes migrations/schema.snapshot.sql: the schema that all migrations produce, as pg_dump --schema-only prints it, so a
// migration shows up in review as a readable diff of the resulting tables and indexes. `npm run schema:snapshot`
// after adding a migration; test/integration/schema-snapshot.test.ts fails while the snapshot is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dumpMigratedSchema } from './schema-dump.mjs';

const target = fileURLToPath(new URL('../migrations/schema.snapshot.sql', import.meta.url));
writeFileSync(target, await dumpMigratedSchema(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'));
console.log(`wrote ${target}`);
