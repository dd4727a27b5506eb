import type { Queryable } from '../outbox/write.js';
import { eventsTable } from './identifiers.js';

/** What `deletePublished` would delete in total (a range of the published_at index); for `prune --dry-run`. */
export async function countPrunable(db: Queryable, schema: string, olderThanMs: number): Promise<{ count: number; cutoff: Date }> {
  const { rows } = await db.query(
    `SELECT count(*)::bigint AS count, now() - $1 * interval '1 millisecond' AS cutoff
FROM ${eventsTable(schema)} WHERE published_at < now() - $1 * interval '1 millisecond'`,
    [olderThanMs],
  );
  const row = rows[0] as { count: string; cutoff: Date };
  return { count: Number(row.count), cutoff: row.cutoff };
}
