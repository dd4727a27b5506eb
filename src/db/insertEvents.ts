import { createHash } from 'node:crypto';
import { eventsTable } from './identifiers.js';
import type { EncodedEvent } from '../outbox/event.js';

/**
 * The one INSERT the outbox needs, for one event or many: parallel arrays unnested into rows, so a batch of any size
 * is one statement with eight parameters. Exported for apps on knex/drizzle/prisma that write rows themselves:
 * pass `insertEventsParams(events.map(e => encodeEvent(e, uuidv7)))`.
 */
export function insertEventsSql(schema: string): string {
  return `INSERT INTO ${eventsTable(schema)} (id, topic, key, type, aggregate_type, aggregate_id, payload, headers)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::jsonb[])`;
}

export function insertEventsParams(events: readonly EncodedEvent[]): unknown[] {
  return [
    events.map((e) => e.id),
    events.map((e) => e.topic),
    events.map((e) => e.key),
    events.map((e) => e.type),
    events.map((e) => e.aggregateType),
    events.map((e) => e.aggregateId),
    events.map((e) => e.payload),
    events.map((e) => e.headers),
  ];
}

/** Prepared statement name per schema; hashed because PostgreSQL truncates names past 63 bytes. */
export function insertStatementName(schema: string): string {
  return `outbox_insert_${createHash('sha1').update(schema).digest('hex').slice(0, 16)}`;
}
