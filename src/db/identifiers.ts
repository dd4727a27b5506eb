import pg from 'pg';
import { ConfigError } from '../errors.js';

/** Letters, digits and underscores, not starting with a digit, at most 63 bytes (PostgreSQL's NAMEDATALEN − 1). */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export const DEFAULT_SCHEMA = 'outbox';

/** Validates a schema name and returns it quoted, ready to splice into SQL text. */
export function quoteSchema(schema: string, option = 'schema'): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new ConfigError(option, `must be a plain SQL identifier (letters, digits, _; at most 63), got ${JSON.stringify(schema)}`);
  }
  return pg.escapeIdentifier(schema);
}

/** `"schema".outbox_events` */
export function eventsTable(schema: string): string {
  return `${quoteSchema(schema)}.outbox_events`;
}
