import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { writeWithOutbox } from '../../src/outbox/write.js';
import { inTransaction } from '../helpers/db.js';
import { consumeTopic, createTopic, randomTopic } from '../helpers/kafka.js';
import { useRelayTest } from '../helpers/relayTest.js';

const contextManager = new AsyncLocalStorageContextManager();
const tracer = new BasicTracerProvider().getTracer('outbox-relay-test');
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});

const t = useRelayTest('trace-test');

describe('trace propagation', () => {
  it('carries the active span as a W3C traceparent header from the writer to the Kafka message', async () => {
    const topic = randomTopic('trace');
    await createTopic(topic, 1);
    const write = (event: Parameters<typeof writeWithOutbox>[1]) => inTransaction(t.db.pool, (tx) => writeWithOutbox(tx, event, { schema: t.db.schema }));

    const { traceId, spanId, inSpan, ownTrace } = await tracer.startActiveSpan('place order', async (span) => {
      try {
        return {
          ...span.spanContext(),
          inSpan: await write({ topic, payload: { n: 1 } }),
          // A caller's own trace context wins over the active span.
          ownTrace: await write({ topic, payload: { n: 2 }, headers: { TraceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } }),
        };
      } finally {
        span.end();
      }
    });
    const outside = await write({ topic, payload: { n: 3 } });

    const relay = t.relay();
    await relay.start();
    const byId = new Map((await consumeTopic(topic, 3)).map((m) => [m.headers['outbox-event-id'], m.headers]));

    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(byId.get(inSpan)?.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    expect(byId.get(ownTrace)).toMatchObject({ TraceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(byId.get(ownTrace)?.traceparent).toBeUndefined();
    expect(byId.get(outside)).toBeDefined();
    expect(byId.get(outside)?.traceparent).toBeUndefined();
  });

  it('is simply off when @opentelemetry/api is not installed', async () => {
    // A module hook makes the optional peer dependency unresolvable, as in an application that never installed it.
    const hooks = `export async function resolve(specifier, context, next) {
      if (specifier === '@opentelemetry/api') throw Object.assign(new Error('Cannot find package ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' });
      return next(specifier, context);
    }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
      const api = await import('@opentelemetry/api').then(() => 'loaded', (e) => e.code);
      const lib = await import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)});
      const { currentTraceHeaders } = await import(${JSON.stringify(new URL('../../dist/observe/trace.js', import.meta.url).href)});
      console.log(JSON.stringify({ api, writeWithOutbox: typeof lib.writeWithOutbox, headers: currentTraceHeaders() }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({ api: 'ERR_MODULE_NOT_FOUND', writeWithOutbox: 'function', headers: {} });
  });
});
