import { DEFAULT_SCHEMA, quoteSchema } from '../db/identifiers.js';
import type { Queryable } from '../outbox/write.js';
import { InvalidInboxArgumentError } from './errors.js';
import { validateConsumer } from './processOnce.js';
import { deleteProcessed } from './sql/deleteProcessed.js';

export interface PruneProcessedOptions {
  /**
   * Delete rows processed more than this long ago. Keep it longer than any redelivery you expect (Kafka retention of the
   * topics, the furthest `replay --since` you might run): a pruned event that is delivered again is applied again.
   */
  olderThanMs: number;
  /** Only this consumer's rows. Default: every consumer. */
  consumer?: string;
  /** Schema holding processed_messages. Default `outbox`. */
  schema?: string;
  /**
   * Rows per DELETE statement. Default 1000: each statement (its own transaction on a pool) stays short, so
   * processOnce's inserts and autovacuum keep up while millions of rows go.
   */
  batchSize?: number;
}

/** Deletes old processed_messages rows in bounded batches until none are left; returns how many were deleted. */
export async function pruneProcessedMessages(db: Queryable, options: PruneProcessedOptions): Promise<number> {
  const { olderThanMs, batchSize = 1000, consumer, schema = DEFAULT_SCHEMA } = options;
  if (!Number.isSafeInteger(olderThanMs) || olderThanMs < 0) {
    throw new InvalidInboxArgumentError('olderThanMs', `must be a non-negative integer of milliseconds, got ${String(olderThanMs)}`);
  }
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new InvalidInboxArgumentError('batchSize', `must be an integer from 1 to 100000, got ${String(batchSize)}`);
  }
  if (consumer !== undefined) validateConsumer(consumer);
  quoteSchema(schema);

  let total = 0;
  for (;;) {
    const deleted = await deleteProcessed(db, schema, { olderThanMs, limit: batchSize, consumer });
    total += deleted;
    if (deleted < batchSize) return total;
  }
}
