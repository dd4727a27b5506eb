import { describe, expect, it } from 'vitest';
import { encodeEvent, isValidTopicName } from '../../src/outbox/event.js';
import { InvalidEventError } from '../../src/errors.js';

const newId = () => '0190f5c4-7e1a-7000-8000-000000000001';

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidEventError);
    return (err as InvalidEventError).field;
  }
  throw new Error('expected InvalidEventError');
}

describe('encodeEvent', () => {
  it('encodes a full event', () => {
    const e = encodeEvent(
      { topic: 'orders', payload: { a: 1 }, key: 'order-1', type: 'order.created', aggregateType: 'order', aggregateId: '1', headers: { h: 'v', b: Buffer.from([1, 2]) } },
      newId,
    );
    expect(e).toMatchObject({ id: newId(), topic: 'orders', key: 'order-1', type: 'order.created', aggregateType: 'order', aggregateId: '1' });
    expect(e.payload.toString()).toBe('{"a":1}');
    expect(JSON.parse(e.headers)).toEqual({ h: 'v', b: { base64: 'AQI=' }, 'content-type': 'application/json' });
  });

  it('keeps bytes payloads as they are, without a JSON content type', () => {
    const e = encodeEvent({ topic: 't', payload: Buffer.from([0, 255]) }, newId);
    expect([...e.payload]).toEqual([0, 255]);
    expect(JSON.parse(e.headers)).toEqual({});
  });

  it('uses and lower-cases a given UUID', () => {
    expect(encodeEvent({ topic: 't', payload: 1, id: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11' }, newId).id).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  });

  it.each([
    ['missing topic', { payload: 1 }, 'topic'],
    ['empty topic', { topic: '', payload: 1 }, 'topic'],
    ['illegal topic characters', { topic: 'orders/created', payload: 1 }, 'topic'],
    ['topic "."', { topic: '.', payload: 1 }, 'topic'],
    ['topic too long', { topic: 'x'.repeat(250), payload: 1 }, 'topic'],
    ['missing payload', { topic: 't' }, 'payload'],
    ['function payload', { topic: 't', payload: () => 1 }, 'payload'],
    ['BigInt payload', { topic: 't', payload: { n: 10n } }, 'payload'],
    ['cyclic payload', { topic: 't', payload: (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })() }, 'payload'],
    ['oversized payload', { topic: 't', payload: 'x'.repeat(1_000_001) }, 'payload'],
    ['id not a UUID', { topic: 't', payload: 1, id: 'order-1' }, 'id'],
    ['numeric key', { topic: 't', payload: 1, key: 42 }, 'key'],
    ['type with NUL', { topic: 't', payload: 1, type: 'a\u0000b' }, 'type'],
    ['headers not an object', { topic: 't', payload: 1, headers: 'x' }, 'headers'],
    ['numeric header value', { topic: 't', payload: 1, headers: { n: 1 } }, 'headers.n'],
    ['reserved header name', { topic: 't', payload: 1, headers: { 'outbox-event-id': 'x' } }, 'headers.outbox-event-id'],
    ['unknown field', { topic: 't', payload: 1, aggregateID: 'typo' }, 'aggregateID'],
  ])('refuses %s', (_name, event, field) => {
    expect(fieldOf(() => encodeEvent(event, newId))).toBe(field);
  });

  it('refuses a non-object event', () => {
    expect(fieldOf(() => encodeEvent(null, newId))).toBe('event');
  });

  it('names the event in a batch', () => {
    expect(fieldOf(() => encodeEvent({ payload: 1 }, newId, undefined, 'events[3].'))).toBe('events[3].topic');
  });
});

describe('isValidTopicName', () => {
  it('follows Kafka rules', () => {
    expect(isValidTopicName('a.b_c-D9')).toBe(true);
    expect(isValidTopicName('..')).toBe(false);
    expect(isValidTopicName('a b')).toBe(false);
  });
});
