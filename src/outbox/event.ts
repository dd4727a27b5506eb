import { InvalidEventError } from '../errors.js';

/** What an application hands to `writeWithOutbox`. */
export interface OutboxEventInput {
  /** Kafka topic: 1–249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`. */
  topic: string;
  /** A JSON value (sent as its JSON text) or bytes (sent as they are). */
  payload: unknown;
  /** Event ID (any UUID). Defaults to a new UUIDv7, which sorts by creation time. */
  id?: string;
  /** Kafka message key. Defaults to the event ID; set the aggregate ID here to keep one aggregate in one partition. */
  key?: string;
  /** Event type, e.g. `order.created`; sent as the `outbox-event-type` header. */
  type?: string;
  aggregateType?: string;
  aggregateId?: string;
  /** Extra Kafka headers. Values are strings or bytes. */
  headers?: Record<string, string | Uint8Array>;
}

/** A validated event, encoded the way the outbox table stores it. */
export interface EncodedEvent {
  id: string;
  topic: string;
  key: string | null;
  type: string | null;
  aggregateType: string | null;
  aggregateId: string | null;
  payload: Buffer;
  /** JSON text of the headers column. */
  headers: string;
}

export interface ValidationLimits {
  /**
   * Largest payload + headers accepted, in bytes. Default 1,000,000: Kafka's default `message.max.bytes` is 1,048,588
   * including record overhead, so an event above this would only be refused later by the broker, after commit.
   */
  maxEventBytes: number;
}

export const DEFAULT_LIMITS: ValidationLimits = { maxEventBytes: 1_000_000 };

/** Kafka's own rule (kafka.common.internals.Topic). */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KNOWN_FIELDS = new Set(['topic', 'payload', 'id', 'key', 'type', 'aggregateType', 'aggregateId', 'headers']);
/** Headers the relay sets itself; an event may not fake them. */
export const RESERVED_HEADER_PREFIX = 'outbox-';

export function isValidTopicName(topic: string): boolean {
  return TOPIC_NAME.test(topic) && topic !== '.' && topic !== '..';
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Validates one event and encodes it for the table. Throws `InvalidEventError` naming the field; never touches
 * the database. `prefix` names the event in a batch (`events[3].`).
 */
export function encodeEvent(
  event: unknown,
  newId: () => string,
  limits: ValidationLimits = DEFAULT_LIMITS,
  prefix = '',
): EncodedEvent {
  const f = (name: string) => prefix + name;
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidEventError(prefix ? prefix.slice(0, -1) : 'event', 'must be an object');
  }
  const e = event as Record<string, unknown>;
  for (const name of Object.keys(e)) {
    if (!KNOWN_FIELDS.has(name)) throw new InvalidEventError(f(name), 'is not a known field');
  }

  if (typeof e.topic !== 'string' || e.topic === '') throw new InvalidEventError(f('topic'), 'is required (a non-empty string)');
  if (!isValidTopicName(e.topic)) {
    throw new InvalidEventError(f('topic'), `must be 1–249 characters of [a-zA-Z0-9._-] (not "." or ".."), got ${JSON.stringify(e.topic.slice(0, 60))}`);
  }

  let id: string;
  if (e.id === undefined) id = newId();
  else if (typeof e.id === 'string' && isUuid(e.id)) id = e.id.toLowerCase();
  else throw new InvalidEventError(f('id'), 'must be a UUID string');

  const key = optionalString(e.key, f('key'));
  const type = optionalString(e.type, f('type'));
  const aggregateType = optionalString(e.aggregateType, f('aggregateType'));
  const aggregateId = optionalString(e.aggregateId, f('aggregateId'));

  const { payload, isJson } = encodePayload(e.payload, f('payload'));
  const { json: headers, bytes: headerBytes } = encodeHeaders(e.headers, f('headers'), isJson);

  const size = payload.length + headerBytes + Buffer.byteLength(key ?? '');
  if (size > limits.maxEventBytes) {
    throw new InvalidEventError(f('payload'), `is too large: ${size} bytes with headers and key, the limit is ${limits.maxEventBytes}`);
  }
  return { id, topic: e.topic, key, type, aggregateType, aggregateId, payload, headers };
}

function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidEventError(field, `must be a string, got ${typeof value}`);
  if (value.includes('\u0000')) throw new InvalidEventError(field, 'must not contain NUL characters');
  return value;
}

function encodePayload(payload: unknown, field: string): { payload: Buffer; isJson: boolean } {
  if (payload instanceof Uint8Array) return { payload: Buffer.from(payload), isJson: false };
  if (payload === undefined) throw new InvalidEventError(field, 'is required (a JSON value or bytes)');
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (err) {
    throw new InvalidEventError(field, `is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (text === undefined) throw new InvalidEventError(field, `is not JSON-serialisable (${typeof payload})`);
  return { payload: Buffer.from(text, 'utf8'), isJson: true };
}

function encodeHeaders(headers: unknown, field: string, isJsonPayload: boolean): { json: string; bytes: number } {
  const out: Record<string, string | { base64: string }> = {};
  let bytes = 0;
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
      throw new InvalidEventError(field, 'must be an object of string or bytes values');
    }
    for (const [name, value] of Object.entries(headers)) {
      if (name === '' || name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX)) {
        throw new InvalidEventError(`${field}.${name}`, `is reserved or empty (names starting "${RESERVED_HEADER_PREFIX}" are set by the relay)`);
      }
      if (typeof value === 'string') out[name] = value;
      else if (value instanceof Uint8Array) out[name] = { base64: Buffer.from(value).toString('base64') };
      else throw new InvalidEventError(`${field}.${name}`, `must be a string or bytes, got ${value === null ? 'null' : typeof value}`);
      bytes += Buffer.byteLength(name) + (typeof value === 'string' ? Buffer.byteLength(value) : value.length);
    }
  }
  if (isJsonPayload && !('content-type' in out)) out['content-type'] = 'application/json';
  return { json: JSON.stringify(out), bytes };
}
