import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, ROOT_CONTEXT, trace, TraceFlags, createTraceState } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { currentTraceHeaders, withTraceHeaders } from '../../src/observe/trace.js';
import { startObservabilityServer } from '../../src/observe/server.js';
import { createLogger } from '../../src/log.js';
import { resolveConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe('trace headers', () => {
  beforeAll(() => void context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterAll(() => context.disable());

  const inSpan = <T>(fn: () => T, traceState?: string): T =>
    context.with(
      trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, traceState: traceState ? createTraceState(traceState) : undefined }),
      fn,
    );

  it('renders the active span context as W3C traceparent and tracestate', () => {
    expect(currentTraceHeaders()).toEqual({});
    expect(inSpan(currentTraceHeaders)).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` });
    expect(inSpan(currentTraceHeaders, 'vendor=abc,other=x')).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'vendor=abc,other=x' });
  });

  it('adds the trace headers unless the caller set trace context of their own', () => {
    const t = { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'v=1' };
    expect(withTraceHeaders({ topic: 'a', payload: 1 }, t)).toEqual({ topic: 'a', payload: 1, headers: t });
    expect(withTraceHeaders({ topic: 'a', payload: 1, headers: { tenant: 'x' } }, t)).toEqual({ topic: 'a', payload: 1, headers: { ...t, tenant: 'x' } });
    const own = { topic: 'a', payload: 1, headers: { TRACEPARENT: 'mine' } };
    expect(withTraceHeaders(own, t)).toBe(own);
    const ownState = { topic: 'a', payload: 1, headers: { tracestate: 'mine' } };
    expect(withTraceHeaders(ownState, t)).toBe(ownState);
    // Malformed input reaches validation unchanged, so the error names what the caller gave.
    for (const bad of [null, 'x', [1], { topic: 'a', headers: 'nope' }]) expect(withTraceHeaders(bad, t)).toBe(bad);
    const plain = { topic: 'a', payload: 1 };
    expect(withTraceHeaders(plain, {})).toBe(plain);
  });
});

describe('observability server', () => {
  it('serves the three routes, 404 elsewhere, 405 for writes, HEAD without a body, 500 on a failing handler', async () => {
    const server = await startObservabilityServer(
      {
        metrics: () => ({ status: 200, contentType: 'text/plain; version=0.0.4', body: 'm 1\n' }),
        healthz: () => ({ status: 503, contentType: 'application/json', body: '{"status":"stalled"}' }),
        readyz: async () => Promise.reject(new Error('boom')),
      },
      { port: 0, host: '127.0.0.1' },
    );
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      const metrics = await fetch(`${server.url}/metrics?x=1`);
      expect([metrics.status, metrics.headers.get('content-type'), await metrics.text()]).toEqual([200, 'text/plain; version=0.0.4', 'm 1\n']);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(503);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(500);
      expect((await fetch(`${server.url}/`)).status).toBe(404);
      const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
      expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
      const head = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
      expect([head.status, await head.text()]).toEqual([200, '']);
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/metrics`)).rejects.toThrow();
  });
});

describe('pretty logs', () => {
  it('writes readable lines, not JSON, with the same redaction', () => {
    const lines: string[] = [];
    const logger = createLogger({ pretty: true, destination: { write: (line: string) => void lines.push(line) } });
    logger.info({ databaseUrl: 'postgres://u:pw-123@h/db', sasl: { password: 'pw-456' }, batch: 3 }, 'batch published');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toContain('batch published');
    expect(line).toMatch(/batch.*3/);
    expect(() => JSON.parse(line)).toThrow();
    expect(line).not.toMatch(/pw-123|pw-456/);
  });
});

describe('metrics options', () => {
  const resolve = (env: Record<string, string>) => resolveConfig({ env: { DATABASE_URL: 'postgres://h/db', ...env } });

  it('defaults to no server, bound to loopback when turned on', () => {
    expect(resolve({})).toMatchObject({ metricsPort: 0, metricsHost: '127.0.0.1' });
    expect(resolve({ OUTBOX_METRICS_PORT: '9464', OUTBOX_METRICS_HOST: '0.0.0.0' })).toMatchObject({ metricsPort: 9464, metricsHost: '0.0.0.0' });
    expect(resolveConfig({ flags: { metricsPort: '9100', metricsHost: '::' }, env: { DATABASE_URL: 'postgres://h/db' } })).toMatchObject({ metricsPort: 9100, metricsHost: '::' });
  });

  it('refuses bad values, naming the option', () => {
    expect(() => resolve({ OUTBOX_METRICS_PORT: '70000' })).toThrow(ConfigError);
    expect(() => resolve({ OUTBOX_METRICS_PORT: '70000' })).toThrow(/OUTBOX_METRICS_PORT must be a whole number from 0 to 65535/);
    expect(() => resolveConfig({ flags: { metricsHost: 'http://0.0.0.0' }, env: { DATABASE_URL: 'postgres://h/db' } })).toThrow(/--metrics-host must be an address/);
  });
});
