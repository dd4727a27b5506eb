import type pg from 'pg';
import { claimBatch, type ClaimedEvent } from '../db/claimBatch.js';
import { checkout } from '../db/checkout.js';
import { coerceError } from '../errors.js';

/**
 * One claimed batch and the open transaction that holds its row locks. The locks are what keeps other relays off
 * these rows until `commit()` (after Kafka acknowledged them) or `rollback()` (they become claimable again).
 */
export interface ClaimTransaction {
  readonly events: readonly ClaimedEvent[];
  /** Runs `work` on the transaction's connection, then commits. Rolls back and rethrows when `work` throws. */
  commit(work: (client: pg.ClientBase) => Promise<void>): Promise<void>;
  rollback(): Promise<void>;
}

/** BEGIN → claim up to `limit` events. An empty claim is committed at once and holds no connection. */
export async function openClaimTransaction(pool: pg.Pool, schema: string, limit: number): Promise<ClaimTransaction> {
  const { client, release: releaseClient } = await checkout(pool);
  let released = false;
  const release = (err?: Error) => {
    released = true;
    releaseClient(err);
  };
  // The rows' locks go with the transaction; if ROLLBACK itself fails the connection is broken: discard it.
  const rollback = async () => {
    if (released) return;
    const broken = await client.query('ROLLBACK').then(
      () => undefined,
      (err: unknown) => coerceError(err),
    );
    release(broken);
  };
  let events: ClaimedEvent[];
  try {
    await client.query('BEGIN');
    events = await claimBatch(client, schema, limit);
    if (events.length === 0) {
      await client.query('COMMIT');
      release();
    }
  } catch (err) {
    await rollback();
    throw err;
  }
  return {
    events,
    rollback,
    async commit(work) {
      if (released) return;
      try {
        await work(client);
        await client.query('COMMIT');
        release();
      } catch (err) {
        await rollback();
        throw err;
      }
    },
  };
}
