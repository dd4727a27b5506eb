import { v7 as uuidv7 } from 'uuid';
import type { QueryResult } from 'pg';
import { DuplicateEventIdError, InvalidEventError } from '../errors.js';
import { DEFAULT_SCHEMA } from '../db/identifiers.js';
import { insertEventsSql, insertEventsParams, insertStatementName } from '../db/insertEvents.js';
import { encodeEvent, DEFAULT_LIMITS, type OutboxEventInput, type ValidationLimits } from './event.js';
import { currentTraceHeaders, withTraceHeaders } from '../observe/trace.js';

/** Anything with pg's `query({ text, values, name })`: a `pg.Client` or a `PoolClient` in the caller's transaction. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<QueryResult>;
  query(config: { text: string; values?: unknown[]; name?: string }): Promise<QueryResult>;
}

export interface WriteOptions extends Partial<ValidationLimits> {
  /** Schema of the outbox table. Default `outbox`. */
  schema?: string;
  /**
   * Use a named prepared statement (default true): parsed and planned once per connection instead of per write.
   * Set false behind PgBouncer < 1.21 in transaction mode, which cannot carry prepared statements.
   */
  prepare?: boolean;
}

/**
 * Inserts one event into the outbox using the caller's transaction client, so the event commits or rolls back with
 * the caller's domain rows. Validates first: an invalid event throws `InvalidEventError` and no SQL is sent.
 * Returns the event ID.
 */
export async function writeWithOutbox(tx: Queryable, event: OutboxEventInput, options: WriteOptions = {}): Promise<string> {
  const [id] = await writeManyWithOutbox(tx, [event], options);
  return id as string;
}

/** The batch form: validates every event, then inserts them all with one statement. Returns the IDs in order. */
export async function writeManyWithOutbox(
  tx: Queryable,
  events: readonly OutboxEventInput[],
  options: WriteOptions = {},
): Promise<string[]> {
  assertTransactionClient(tx);
  if (!Array.isArray(events)) throw new InvalidEventError('events', 'must be an array');
  const limits = { maxEventBytes: options.maxEventBytes ?? DEFAULT_LIMITS.maxEventBytes };
  // Inside an active OpenTelemetry span, events carry its W3C traceparent to Kafka (unless they set their own).
  const trace = currentTraceHeaders();
  const encoded = events.map((e, i) => encodeEvent(withTraceHeaders(e, trace), uuidv7, limits, events.length > 1 ? `events[${i}].` : ''));
  const ids = new Set<string>();
  encoded.forEach((e, i) => {
    if (ids.has(e.id)) throw new InvalidEventError(`events[${i}].id`, 'repeats an id given earlier in the same batch');
    ids.add(e.id);
  });
  if (encoded.length === 0) return [];
  try {
    const schema = options.schema ?? DEFAULT_SCHEMA;
    await tx.query({
      text: insertEventsSql(schema),
      values: insertEventsParams(encoded),
      name: options.prepare === false ? undefined : insertStatementName(schema),
    });
  } catch (err) {
    if ((err as { code?: string; constraint?: string }).code === '23505' && (err as { constraint?: string }).constraint === 'outbox_events_pkey') {
      throw new DuplicateEventIdError(err);
    }
    throw err;
  }
  return encoded.map((e) => e.id);
}

/**
 * A `pg.Pool` has `query` too, but each call would run in its own autocommit transaction: the event would commit even
 * when the caller's domain write rolls back. Refuse it rather than silently break atomicity.
 */
function assertTransactionClient(tx: unknown): asserts tx is Queryable {
  if (typeof tx !== 'object' || tx === null || typeof (tx as Queryable).query !== 'function') {
    throw new InvalidEventError('tx', 'must be a pg client inside your transaction (an object with query())');
  }
  if ('totalCount' in tx && 'idleCount' in tx) {
    throw new InvalidEventError('tx', 'is a pg.Pool; pass the client of your transaction (pool.connect(), then BEGIN)');
  }
}
