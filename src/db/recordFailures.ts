import type { ClientBase } from 'pg';
import { eventsTable } from './identifiers.js';
import type { FailureKind } from '../kafka/errors.js';

export interface EventFailure {
  seq: string;
  /** `permanent` (Kafka refuses it for good) or `event` (cannot go yet, e.g. unknown topic). */
  kind: Exclude<FailureKind, 'transient'>;
  error: string;
  /** When this event may be claimed again. */
  nextAttemptAt: Date;
  /** Give up on the event: it leaves the claim index and waits for an operator (`outbox-relay dead …`). */
  dead: boolean;
}

/** Records per-event failures in one statement, so one refused event is backed off alone and never blocks the rest. */
export async function recordFailures(client: ClientBase, schema: string, failures: readonly EventFailure[]): Promise<void> {
  if (failures.length === 0) return;
  await client.query({
    text: `UPDATE ${eventsTable(schema)} AS e
SET attempts = e.attempts + 1, last_error = f.error, next_attempt_at = f.next_attempt_at,
    dead_at = CASE WHEN f.dead THEN clock_timestamp() END
FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::boolean[]) AS f(seq, error, next_attempt_at, dead)
WHERE e.seq = f.seq`,
    values: [
      failures.map((f) => f.seq),
      failures.map((f) => f.error.slice(0, 2000)),
      failures.map((f) => f.nextAttemptAt),
      failures.map((f) => f.dead),
    ],
  });
}
