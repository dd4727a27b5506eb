import type { Queryable } from '../outbox/write.js';
import { eventsTable } from './identifiers.js';

/**
 * Deletes at most `limit` events published more than `olderThanMs` ago (PostgreSQL's clock), oldest first, and
 * returns how many. Only published rows qualify: `published_at < …` is false for NULL, so pending and dead rows are
 * never touched. One statement per batch keeps each DELETE's row locks and WAL bounded (1,000 rows ≈ 1–2 MB of
 * WAL with 1 kB payloads) instead of one huge transaction; SKIP LOCKED lets two pruners (two relays) share the work.
 */
export async function deletePublished(db: Queryable, schema: string, olderThanMs: number, limit: number): Promise<number> {
  const table = eventsTable(schema);
  const result = await db.query(
    `DELETE FROM ${table}
WHERE seq IN (
  SELECT seq FROM ${table}
  WHERE published_at < now() - $1 * interval '1 millisecond'
  ORDER BY published_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)`,
    [olderThanMs, limit],
  );
  return result.rowCount ?? 0;
}
