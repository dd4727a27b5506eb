import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { writeWithOutbox, writeManyWithOutbox, type Queryable } from '../../src/outbox/write.js';
import { DuplicateEventIdError, InvalidEventError } from '../../src/errors.js';
import { countRows, createTestSchema, inTransaction, type TestSchema } from '../helpers/db.js';

let db: TestSchema;
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => db.cleanup());

describe('writeWithOutbox', () => {
  it('stores every field and returns a UUIDv7 id', async () => {
    const id = await inTransaction(db.pool, (tx) =>
      writeWithOutbox(tx, { topic: 'orders', payload: { total: 12.5 }, key: 'o-1', type: 'order.created', aggregateType: 'order', aggregateId: '1', headers: { tenant: 'acme' } }, { schema: db.schema }),
    );
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    const { rows } = await db.pool.query(`SELECT * FROM ${db.schema}.outbox_events`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id, topic: 'orders', key: 'o-1', type: 'order.created', aggregate_type: 'order', aggregate_id: '1', published_at: null, attempts: 0 });
    expect(rows[0].payload.toString()).toBe('{"total":12.5}');
    expect(rows[0].headers).toEqual({ tenant: 'acme', 'content-type': 'application/json' });
  });

  it('writes a batch with one statement and keeps the order', async () => {
    const events = Array.from({ length: 250 }, (_, i) => ({ topic: 'orders', payload: { i } }));
    const ids = await inTransaction(db.pool, (tx) => writeManyWithOutbox(tx, events, { schema: db.schema }));
    expect(new Set(ids).size).toBe(250);
    const { rows } = await db.pool.query(`SELECT id FROM ${db.schema}.outbox_events ORDER BY seq`);
    expect(rows.map((r) => r.id)).toEqual(ids);
  });

  it('leaves no row when the transaction rolls back', async () => {
    await inTransaction(db.pool, (tx) => writeWithOutbox(tx, { topic: 'orders', payload: 1 }, { schema: db.schema }), true);
    expect(await countRows(db.pool, db.schema)).toBe(0);
  });

  it('refuses an invalid event in a batch before writing any of it', async () => {
    const sent: string[] = [];
    const client = await db.pool.connect();
    const spy = {
      query: (config: string | { text: string }, values?: unknown[]) => {
        sent.push(typeof config === 'string' ? config : config.text);
        return client.query(config as string, values);
      },
    } as Queryable;
    try {
      await expect(writeManyWithOutbox(spy, [{ topic: 'ok', payload: 1 }, { topic: 'bad topic', payload: 1 }], { schema: db.schema })).rejects.toMatchObject({
        name: 'InvalidEventError',
        field: 'events[1].topic',
      });
    } finally {
      client.release();
    }
    expect(sent).toEqual([]);
    expect(await countRows(db.pool, db.schema)).toBe(0);
  });

  it('refuses a pool (it would commit outside the caller transaction)', async () => {
    await expect(writeWithOutbox(db.pool, { topic: 't', payload: 1 }, { schema: db.schema })).rejects.toBeInstanceOf(InvalidEventError);
    await expect(writeWithOutbox({} as pg.ClientBase, { topic: 't', payload: 1 }, { schema: db.schema })).rejects.toMatchObject({ field: 'tx' });
    expect(await countRows(db.pool, db.schema)).toBe(0);
  });

  it('reports a duplicate event id with a typed error', async () => {
    const id = '0190f5c4-7e1a-7000-8000-00000000abcd';
    await inTransaction(db.pool, (tx) => writeWithOutbox(tx, { id, topic: 't', payload: 1 }, { schema: db.schema }));
    await expect(inTransaction(db.pool, (tx) => writeWithOutbox(tx, { id, topic: 't', payload: 2 }, { schema: db.schema }))).rejects.toBeInstanceOf(DuplicateEventIdError);
    await expect(inTransaction(db.pool, (tx) => writeManyWithOutbox(tx, [{ id, topic: 't', payload: 1 }, { id, topic: 't', payload: 2 }], { schema: db.schema }))).rejects.toMatchObject({ field: 'events[1].id' });
    expect(await countRows(db.pool, db.schema)).toBe(1);
  });
});
