import type pg from 'pg';
import { writeManyWithOutbox } from '../../src/outbox/write.js';
import { countRows } from './db.js';
import type { WriterStats } from './writer.js';

export interface FaultWriterStats extends WriterStats {
  /** COMMIT was sent but no answer came (the connection broke): committed or not, only the table can tell. */
  unknown: string[];
  /** Transactions that failed (connection refused or broken) and were retried. */
  errors: number;
}

/**
 * startWriter (test/helpers/writer.ts) for runs where PostgreSQL goes away: a failed transaction is retried with a new
 * one instead of ending the writer. An ID counts as committed only when COMMIT returned; a transaction that broke
 * before COMMIT is rolled back (its IDs must never be published); one that broke during COMMIT is `unknown` until
 * settleUnknown looks in the table.
 */
export function startRetryingWriter(pool: pg.Pool, schema: string, topic: string, options: { pauseMs?: number } = {}) {
  const stats: FaultWriterStats = { committed: [], rolledBack: [], unknown: [], errors: 0 };
  let stopping = false;
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const done = (async () => {
    let n = 0;
    while (!stopping) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch {
        stats.errors++;
        await pause(100);
        continue;
      }
      // Checked out, the client has no 'error' listener of the pool's: a restart's FATAL would be an uncaught error.
      const ignore = () => undefined;
      client.on('error', ignore);
      let ids: string[] = [];
      let committing = false;
      try {
        await client.query('BEGIN');
        const size = 1 + (n % 5);
        const events = Array.from({ length: size }, (_, i) => ({ topic, key: `agg-${(n + i) % 17}`, payload: { n, i } }));
        ids = await writeManyWithOutbox(client, events, { schema });
        const rollback = n % 4 === 3;
        committing = !rollback;
        await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
        (rollback ? stats.rolledBack : stats.committed).push(...ids);
        client.removeListener('error', ignore);
        client.release();
      } catch (err) {
        stats.errors++;
        (committing ? stats.unknown : stats.rolledBack).push(...ids);
        client.removeListener('error', ignore);
        client.release(err as Error); // the connection is broken: discard it
        await pause(50);
      }
      n++;
      if (options.pauseMs) await pause(options.pauseMs);
    }
  })();
  return {
    stats,
    async stop(): Promise<FaultWriterStats> {
      stopping = true;
      await done;
      return stats;
    },
  };
}

/**
 * Resolves the `unknown` IDs against the table (rows are never deleted in these runs): present = committed. Also
 * checks the writer's own bookkeeping against PostgreSQL, so a wrong "committed" list cannot hide a loss: the table
 * must hold exactly the committed events (the writer's and `alsoCommitted`, e.g. a seeded backlog), nothing else.
 */
export async function settleUnknown(pool: pg.Pool, schema: string, stats: FaultWriterStats, alsoCommitted: string[] = []): Promise<WriterStats> {
  const present = new Set(
    (await pool.query<{ id: string }>(`SELECT id::text FROM "${schema}".outbox_events WHERE id = ANY($1::uuid[])`, [stats.unknown])).rows.map((r) => r.id),
  );
  const committed = [...alsoCommitted, ...stats.committed, ...stats.unknown.filter((id) => present.has(id))];
  const rolledBack = [...stats.rolledBack, ...stats.unknown.filter((id) => !present.has(id))];
  const rows = await countRows(pool, schema);
  if (rows !== committed.length) throw new Error(`the table holds ${rows} events but the writer committed ${committed.length}`);
  return { committed, rolledBack };
}
