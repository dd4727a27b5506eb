import type { IHeaders } from 'kafkajs';
import { HEADER_EVENT_ID } from '../kafka/message.js';
import { isUuid } from '../outbox/event.js';

export type EventIdLookup = { eventId: string } | { problem: string };

/**
 * Reads the event ID the relay put in the `outbox-event-id` header. kafkajs delivers header values as Buffers (an
 * array when the header repeats). Anything but exactly one UUID value comes back as a `problem` sentence: such a
 * message cannot be de-duplicated, and guessing (e.g. from the key, which the writer may have overridden) could merge
 * two different events.
 */
export function readEventId(headers: IHeaders | undefined): EventIdLookup {
  const raw = headers?.[HEADER_EVENT_ID];
  if (raw === undefined) return { problem: `has no ${HEADER_EVENT_ID} header` };
  const values = [...new Set((Array.isArray(raw) ? raw : [raw]).map((v) => (typeof v === 'string' ? v : v.toString('utf8'))))];
  if (values.length !== 1) return { problem: `has ${values.length} different ${HEADER_EVENT_ID} headers` };
  const value = values[0]!;
  if (!isUuid(value)) return { problem: `has an ${HEADER_EVENT_ID} header that is not a UUID: ${JSON.stringify(value.slice(0, 60))}` };
  return { eventId: value.toLowerCase() };
}
