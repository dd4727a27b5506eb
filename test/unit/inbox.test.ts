import { describe, expect, it } from 'vitest';
import type { PoolClient } from 'pg';
import { readEventId } from '../../src/inbox/eventIdHeader.js';
import { processOnce } from '../../src/inbox/processOnce.js';
import { idempotentEachBatch, idempotentEachMessage } from '../../src/inbox/kafkajs.js';
import { pruneProcessedMessages } from '../../src/inbox/prune.js';
import { InvalidInboxArgumentError, MissingEventIdError } from '../../src/inbox/errors.js';
import { ConfigError } from '../../src/errors.js';

const ID = '0190f5e2-8b1c-7a3e-9f00-123456789abc';

/** A pool that fails the test if anything reaches for a connection: validation must happen first. */
const untouchable = {
  connect(): Promise<PoolClient> {
    throw new Error('validation must reject before a connection is taken');
  },
  query(): never {
    throw new Error('validation must reject before any SQL is sent');
  },
};

describe('readEventId', () => {
  it('reads the header kafkajs delivers as a Buffer, a string or a repeated value', () => {
    expect(readEventId({ 'outbox-event-id': Buffer.from(ID) })).toEqual({ eventId: ID });
    expect(readEventId({ 'outbox-event-id': ID.toUpperCase() })).toEqual({ eventId: ID });
    expect(readEventId({ 'outbox-event-id': [Buffer.from(ID), ID] })).toEqual({ eventId: ID });
  });

  it('explains why a message cannot be de-duplicated', () => {
    expect(readEventId(undefined)).toEqual({ problem: 'has no outbox-event-id header' });
    expect(readEventId({ other: 'x' })).toEqual({ problem: 'has no outbox-event-id header' });
    expect(readEventId({ 'outbox-event-id': 'order-17' })).toEqual({ problem: 'has an outbox-event-id header that is not a UUID: "order-17"' });
    expect(readEventId({ 'outbox-event-id': [ID, '0190f5e2-8b1c-7a3e-9f00-000000000000'] })).toEqual({ problem: 'has 2 different outbox-event-id headers' });
  });
});

describe('processOnce validation', () => {
  it.each([
    [{ consumer: '', eventId: ID }, 'consumer'],
    [{ consumer: '  ', eventId: ID }, 'consumer'],
    [{ consumer: 'x'.repeat(201), eventId: ID }, 'consumer'],
    [{ consumer: 42, eventId: ID }, 'consumer'],
    [{ consumer: 'billing', eventId: 'not-a-uuid' }, 'eventId'],
    [{ consumer: 'billing', eventId: undefined }, 'eventId'],
  ])('refuses %j before touching the database', async (options, field) => {
    const run = processOnce(untouchable, options as never, async () => 'applied');
    await expect(run).rejects.toBeInstanceOf(InvalidInboxArgumentError);
    await expect(run).rejects.toMatchObject({ field, code: 'OUTBOX_INBOX_INVALID_ARGUMENT', retriable: false });
  });

  it('refuses a schema that is not a plain identifier, and a missing handler', async () => {
    await expect(processOnce(untouchable, { consumer: 'c', eventId: ID, schema: 'x; DROP TABLE y' }, async () => 1)).rejects.toBeInstanceOf(ConfigError);
    await expect(processOnce(untouchable, { consumer: 'c', eventId: ID }, undefined as never)).rejects.toMatchObject({ field: 'handler' });
  });
});

describe('Kafka adapters', () => {
  it('validate their options when created, not on the first message', () => {
    const handler = async () => undefined;
    expect(() => idempotentEachMessage(untouchable, { consumer: '' }, handler)).toThrow(InvalidInboxArgumentError);
    expect(() => idempotentEachBatch(untouchable, { consumer: 'c', onMissingEventId: 'ignore' as never }, handler)).toThrow(/onMissingEventId must be 'fail' or 'skip'/);
    expect(() => idempotentEachMessage(untouchable, { consumer: 'c', schema: 'bad-name' }, handler)).toThrow(ConfigError);
    expect(idempotentEachBatch(untouchable, { consumer: 'c' }, handler).eachBatchAutoResolve).toBe(false);
  });

  it('MissingEventIdError says where the message is and how to skip such messages', () => {
    const err = new MissingEventIdError({ topic: 'orders', partition: 2, offset: '17' }, 'has no outbox-event-id header');
    expect(err).toMatchObject({ code: 'OUTBOX_INBOX_MISSING_EVENT_ID', retriable: false, topic: 'orders', partition: 2, offset: '17' });
    expect(err.message).toMatch(/^message orders\[2\]@17 has no outbox-event-id header; .*onMissingEventId: 'skip'/);
  });
});

describe('pruneProcessedMessages validation', () => {
  it.each([
    [{ olderThanMs: -1 }, 'olderThanMs'],
    [{ olderThanMs: 1.5 }, 'olderThanMs'],
    [{ olderThanMs: Number.NaN }, 'olderThanMs'],
    [{ olderThanMs: 1000, batchSize: 0 }, 'batchSize'],
    [{ olderThanMs: 1000, consumer: '' }, 'consumer'],
  ])('refuses %j before sending SQL', async (options, field) => {
    await expect(pruneProcessedMessages(untouchable as never, options)).rejects.toMatchObject({ name: 'InvalidInboxArgumentError', field });
  });
});
