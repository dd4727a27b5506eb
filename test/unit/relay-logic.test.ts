import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/relay/backoff.js';
import { classifyKafkaError } from '../../src/kafka/errors.js';
import { toKafkaMessage, toTopicMessages } from '../../src/kafka/message.js';
import { redactUrl } from '../../src/log.js';
import type { ClaimedEvent } from '../../src/db/claimBatch.js';

describe('backoffDelay', () => {
  it('grows ×2 from 300 ms and caps at 30 s', () => {
    const mid = () => 0.5; // no jitter
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, DEFAULT_BACKOFF, mid))).toEqual([300, 600, 1200, 2400]);
    expect(backoffDelay(50, DEFAULT_BACKOFF, mid)).toBe(30_000);
  });
  it('jitters within ±20 %', () => {
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 0)).toBe(240);
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 1)).toBe(360);
  });
});

describe('classifyKafkaError', () => {
  it('finds a permanent protocol error behind kafkajs wrappers', () => {
    const inner = Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' });
    expect(classifyKafkaError(new Error('retries exhausted', { cause: inner }))).toBe('permanent');
  });
  it('treats a missing topic as per-event and anything else as transient', () => {
    expect(classifyKafkaError(Object.assign(new Error('x'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' }))).toBe('event');
    expect(classifyKafkaError(new Error('ECONNREFUSED'))).toBe('transient');
  });
});

const row: ClaimedEvent = {
  seq: '1',
  id: '0190f5c4-7e1a-7000-8000-000000000001',
  topic: 'orders',
  key: null,
  type: 'order.created',
  aggregate_type: 'order',
  aggregate_id: '42',
  payload: Buffer.from('{}'),
  headers: { 'content-type': 'application/json', bin: { base64: 'AQI=' } },
  created_at: new Date(1_700_000_000_000),
  attempts: 0,
};

describe('toKafkaMessage', () => {
  it('keys by event id and carries identity headers', () => {
    const m = toKafkaMessage(row);
    expect(m.key).toBe(row.id);
    expect(m.timestamp).toBe('1700000000000');
    expect(m.headers).toMatchObject({ 'outbox-event-id': row.id, 'outbox-event-type': 'order.created', 'outbox-aggregate-type': 'order', 'outbox-aggregate-id': '42' });
    expect(m.headers?.bin).toEqual(Buffer.from([1, 2]));
  });
  it('uses the event key when given and groups by topic in order', () => {
    expect(toKafkaMessage({ ...row, key: 'order-42' }).key).toBe('order-42');
    const grouped = toTopicMessages([row, { ...row, seq: '2', topic: 'b' }, { ...row, seq: '3' }]);
    expect(grouped.map((g) => [g.topic, g.messages.length])).toEqual([['orders', 2], ['b', 1]]);
  });
});

describe('redactUrl', () => {
  it('hides passwords', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/x?sslpassword=zz')).toBe('postgres://app:***@db:5432/x?sslpassword=***');
    expect(redactUrl('::')).toBe('[unparseable url]');
  });
});
