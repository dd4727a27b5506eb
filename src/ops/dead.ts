import { DEFAULT_SCHEMA, quoteSchema } from '../db/identifiers.js';
import { discardDeadEvents, type DiscardOutcome } from '../db/discardDeadEvents.js';
import { retryDeadEvents } from '../db/retryDeadEvents.js';
import { selectDeadEvents, type DeadEventRow } from '../db/selectDeadEvents.js';
import { ConfigError } from '../errors.js';
import { isUuid } from '../outbox/event.js';
import type { Queryable } from '../outbox/write.js';

export type { DeadEventRow, DiscardOutcome };

export interface DeadListOptions {
  schema?: string;
  topics?: string[];
  /** Default 100. */
  limit?: number;
  /** Also list discarded events. Default false. */
  includeDiscarded?: boolean;
}

export async function listDeadEvents(db: Queryable, options: DeadListOptions = {}): Promise<DeadEventRow[]> {
  const schema = checkedSchema(options.schema);
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1) throw new ConfigError('limit', 'must be a whole number ≥ 1');
  return selectDeadEvents(db, schema, { topics: options.topics, limit, includeDiscarded: options.includeDiscarded ?? false });
}

export interface RetryResult {
  /** IDs put back in the queue, in seq order. */
  retried: string[];
  /** Requested IDs that are not dead events (unknown, pending or published): nothing was done to them. */
  notDead: string[];
}

/**
 * Puts dead events back in the queue for the relay: by ID (discarded ones too), or all not discarded
 * (`{ all: true }`, optionally per topic), in steps of 1,000 rows so no UPDATE holds many row locks.
 */
export async function retryDead(
  db: Queryable,
  selection: { ids: string[] } | { all: true; topics?: string[] },
  options: { schema?: string } = {},
): Promise<RetryResult> {
  const schema = checkedSchema(options.schema);
  if ('ids' in selection) {
    const ids = normaliseIds(selection.ids);
    const retried = await retryDeadEvents(db, schema, { ids });
    return { retried, notDead: ids.filter((id) => !retried.includes(id)) };
  }
  const retried: string[] = [];
  for (;;) {
    const step = await retryDeadEvents(db, schema, { all: true, topics: selection.topics, limit: 1_000 });
    retried.push(...step);
    if (step.length < 1_000) return { retried, notDead: [] };
  }
}

export interface DiscardResult extends DiscardOutcome {
  notDead: string[];
}

/** Marks dead events discarded: kept, never retried by `--all`, never pruned, shown apart (see discardDeadEvents). */
export async function discardDead(db: Queryable, ids: string[], options: { schema?: string } = {}): Promise<DiscardResult> {
  const schema = checkedSchema(options.schema);
  const wanted = normaliseIds(ids);
  const outcome = await discardDeadEvents(db, schema, wanted);
  const known = new Set([...outcome.discarded, ...outcome.alreadyDiscarded]);
  return { ...outcome, notDead: wanted.filter((id) => !known.has(id)) };
}

function checkedSchema(schema: string | undefined): string {
  const s = schema ?? DEFAULT_SCHEMA;
  quoteSchema(s);
  return s;
}

function normaliseIds(ids: string[]): string[] {
  if (ids.length === 0) throw new ConfigError('ids', 'must name at least one event ID');
  for (const id of ids) if (!isUuid(id)) throw new ConfigError('ids', `has ${JSON.stringify(id)}, which is not a UUID`);
  return [...new Set(ids.map((id) => id.toLowerCase()))];
}
