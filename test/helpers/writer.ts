import type pg from 'pg';
import { writeManyWithOutbox } from '../../src/outbox/write.js';

export interface WriterStats {
  committed: string[];
  rolledBack: string[];
}

/**
 * An application stand-in: transactions of 1–5 events, about one in four rolled back on purpose, until stopped.
 * Every ID is recorded only after COMMIT/ROLLBACK returned, so `committed` is exactly what PostgreSQL committed.
 */
export function startWriter(pool: pg.Pool, schema: string, topic: string, options: { pauseMs?: number } = {}) {
  const stats: WriterStats = { committed: [], rolledBack: [] };
  let stopping = false;
  const done = (async () => {
    let n = 0;
    while (!stopping) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const size = 1 + (n % 5);
        const ids = await writeManyWithOutbox(client, Array.from({ length: size }, (_, i) => ({ topic, key: `agg-${(n + i) % 17}`, payload: { n, i } })), { schema });
        const rollback = n % 4 === 3;
        await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
        (rollback ? stats.rolledBack : stats.committed).push(...ids);
      } finally {
        client.release();
      }
      n++;
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    }
  })();
  return {
    stats,
    async stop(): Promise<WriterStats> {
      stopping = true;
      await done;
      return stats;
    },
  };
}

/** Compares what Kafka holds with what was committed: lost and phantom must be empty. */
export function verifyDelivery(eventIds: (string | undefined)[], stats: WriterStats) {
  const seen = new Map<string, number>();
  for (const id of eventIds) if (id) seen.set(id, (seen.get(id) ?? 0) + 1);
  const committed = new Set(stats.committed);
  return {
    committed: stats.committed.length,
    published: eventIds.length,
    lost: stats.committed.filter((id) => !seen.has(id)),
    phantom: [...seen.keys()].filter((id) => !committed.has(id)),
    duplicates: eventIds.length - seen.size,
  };
}
