import { checkout } from '../db/checkout.js';
import type { PoolClient } from 'pg';
import { DEFAULT_SCHEMA, quoteSchema } from '../db/identifiers.js';
import { coerceError } from '../errors.js';
import { isUuid } from '../outbox/event.js';
import { InboxTransactionAbortedError, InvalidInboxArgumentError } from './errors.js';
import { markProcessed } from './sql/markProcessed.js';

/** A `pg.Pool` (or anything that lends out clients the same way). */
export interface ClientSource {
  connect(): Promise<PoolClient>;
}

export interface ProcessOnceOptions {
  /**
   * Who applies the event, e.g. `billing.apply-payment`. Each consumer name de-duplicates on its own, so two
   * consumers of one topic each apply an event once. Renaming a consumer makes it forget what it processed.
   */
  consumer: string;
  /** The event ID (a UUID), from the Kafka header `outbox-event-id`. */
  eventId: string;
  /** Schema holding processed_messages (created by `outbox-relay migrate`). Default `outbox`. */
  schema?: string;
}

export type ProcessOnceResult<T> = { processed: true; result: T } | { processed: false };

/** The consumer's database work. `tx` is inside the transaction: do not COMMIT or ROLLBACK it; throw to roll back. */
export type ProcessOnceHandler<T> = (tx: PoolClient) => Promise<T>;

/** Longest accepted consumer name; a name is a label, not data. */
const MAX_CONSUMER_LENGTH = 200;

/**
 * Applies an event's database effects exactly once per consumer. In one transaction it records
 * (consumer, eventId) in processed_messages and runs `handler` on the same client:
 * - first delivery: the row is new → the handler runs → both commit together → `{ processed: true, result }`;
 * - any later delivery: the row exists → the handler is not called → `{ processed: false }` (a success: skip it);
 * - the handler throws: everything rolls back (no row), the error is rethrown, and the next delivery runs it again;
 * - two deliveries at once (two consumers, a rebalance): the second insert waits for the first transaction and
 *   then skips, or runs the handler if the first rolled back.
 * Invalid arguments throw `InvalidInboxArgumentError` (or `ConfigError` for the schema) before a client is taken.
 */
export async function processOnce<T>(
  pool: ClientSource,
  options: ProcessOnceOptions,
  handler: ProcessOnceHandler<T>,
): Promise<ProcessOnceResult<T>> {
  const { consumer, eventId, schema } = validateProcessOnce(options);
  if (typeof handler !== 'function') throw new InvalidInboxArgumentError('handler', 'must be a function');
  if (typeof pool?.connect !== 'function') throw new InvalidInboxArgumentError('pool', 'must be a pg.Pool (something with connect())');

  // checkout: a PostgreSQL restart during a slow handler must fail this message, not crash the consumer process.
  const { client, release } = await checkout(pool);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      if (!(await markProcessed(client, schema, consumer, eventId))) {
        await client.query('ROLLBACK'); // nothing was written; this only ends the transaction
        return { processed: false };
      }
      const result = await handler(client);
      const commit = await client.query('COMMIT');
      // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK and no error.
      if (commit.command === 'ROLLBACK') throw new InboxTransactionAbortedError(consumer, eventId);
      return { processed: true, result };
    } catch (err) {
      // After a failed COMMIT the transaction is already gone; ROLLBACK then only warns. If ROLLBACK itself fails the
      // connection is unusable and must not go back to the pool.
      await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = coerceError(rollbackError)));
      throw err;
    }
  } finally {
    release(broken);
  }
}

/** Validates processOnce's options without touching the database. Exported for the Kafka adapters. */
export function validateProcessOnce(options: ProcessOnceOptions): Required<ProcessOnceOptions> {
  if (typeof options !== 'object' || options === null) throw new InvalidInboxArgumentError('options', 'must be an object');
  const consumer = validateConsumer(options.consumer);
  if (typeof options.eventId !== 'string' || !isUuid(options.eventId)) {
    throw new InvalidInboxArgumentError('eventId', `must be a UUID, got ${JSON.stringify(String(options.eventId).slice(0, 60))}`);
  }
  const schema = options.schema ?? DEFAULT_SCHEMA;
  quoteSchema(schema);
  return { consumer, eventId: options.eventId, schema };
}

export function validateConsumer(consumer: unknown, field = 'consumer'): string {
  if (typeof consumer !== 'string' || consumer.trim() === '') throw new InvalidInboxArgumentError(field, 'must be a non-empty string');
  if (consumer.length > MAX_CONSUMER_LENGTH) {
    throw new InvalidInboxArgumentError(field, `must be at most ${MAX_CONSUMER_LENGTH} characters, got ${consumer.length}`);
  }
  return consumer;
}
