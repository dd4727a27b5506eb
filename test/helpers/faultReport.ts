import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expect, onTestFailed } from 'vitest';
import { kafka, topicMessageCount } from './kafka.js';
import { verifyDelivery, type WriterStats } from './writer.js';

/**
 * What every fault scenario ends with: Kafka's contents against what PostgreSQL committed, printed as one line and
 * asserted: nothing lost, nothing phantom, duplicates within `bound` (one claimed batch per failure).
 */
export function expectDelivery(scenario: string, eventIds: (string | undefined)[], stats: WriterStats, bound: number, extra: Record<string, unknown> = {}) {
  const report = verifyDelivery(eventIds, stats);
  const fields = { committed: report.committed, published: report.published, lost: report.lost.length, phantom: report.phantom.length, duplicates: report.duplicates, bound, ...extra };
  console.log(`[faults] ${scenario}: ${Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}`);
  expect(report.committed).toBeGreaterThan(0);
  expect(report.lost).toEqual([]);
  expect(report.phantom).toEqual([]);
  expect(report.duplicates).toBeLessThanOrEqual(bound);
  return report;
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat (fields 14 and 15). */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/**
 * Age in ms of the oldest open transaction holding the claim's row locks on `schema`.outbox_events: FOR UPDATE takes
 * a RowShareLock on the table, which only the relay's claim transactions do (writers take RowExclusiveLock).
 */
export async function oldestClaimMs(pool: pg.Pool, schema: string): Promise<number> {
  const { rows } = await pool.query<{ ms: number | null }>(
    `SELECT max(extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::float8 AS ms
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.mode = 'RowShareLock' AND l.relation = to_regclass($1)`,
    [`${pg.escapeIdentifier(schema)}.outbox_events`],
  );
  return rows[0]?.ms ?? 0;
}

/**
 * The `outbox-event-id` header of every message in `topic` on `brokers`: reads from the beginning until the count the
 * high watermarks give (taken after the relay drained, so duplicates and phantoms are read too), or fails.
 */
export async function consumeEventIds(brokers: string[], topic: string, timeoutMs = 60_000): Promise<(string | undefined)[]> {
  const expected = await topicMessageCount(topic, brokers);
  const consumer = kafka(brokers).consumer({ groupId: `faults-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 100 });
  const ids: (string | undefined)[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    if (expected === 0) resolveDone();
    await consumer.run({
      eachMessage: async ({ message }) => {
        ids.push(message.headers?.['outbox-event-id']?.toString());
        if (ids.length >= expected) resolveDone();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`consumed ${ids.length} of ${expected} messages from ${topic} within ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
    return ids;
  } finally {
    await consumer.disconnect();
  }
}

/** For waitFor checks: fails at once, with the relay's last output, when the relay process has exited. */
export function assertRunning(relay: { child: { exitCode: number | null; signalCode: NodeJS.Signals | null }; output: string }): void {
  if (relay.child.exitCode !== null || relay.child.signalCode !== null) {
    throw new Error(`the relay exited (code ${relay.child.exitCode}, signal ${relay.child.signalCode}):\n${relay.output.slice(-3_000)}`);
  }
}

/** When the current test fails, prints the tail of each relay's output (the relay's own account of the fault). */
export function printRelayOutputOnFailure(relays: () => ({ output: string } | undefined)[]): void {
  onTestFailed(() => {
    for (const [i, relay] of relays().entries()) if (relay) console.log(`--- relay ${i} output (tail) ---\n${relay.output.slice(-6_000)}`);
  });
}
