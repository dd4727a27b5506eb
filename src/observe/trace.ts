/**
 * W3C trace context for events written inside an active OpenTelemetry span. `@opentelemetry/api` is an optional peer
 * dependency: loaded once here, at import time, so that `currentTraceHeaders()` can stay synchronous; when the
 * application does not have it, propagation is simply off.
 */
type OtelApi = typeof import('@opentelemetry/api');

// Any failure to load (absent, or a broken install) turns propagation off rather than breaking writes.
const api: OtelApi | undefined = await import('@opentelemetry/api').catch(() => undefined);

export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

/**
 * `traceparent` (and `tracestate` when set) of the active span, or `{}` outside one.
 *
 * Built from the span context directly rather than through `propagation.inject`: the global propagator is a no-op
 * until the application registers one, which would drop the context silently; the outbox contract is W3C headers.
 * The API keeps its state on a global symbol, so this sees the application's context even when the application
 * resolved another copy of the 1.x API.
 */
export function currentTraceHeaders(): Record<string, string> {
  if (!api) return {};
  const span = api.trace.getSpanContext(api.context.active());
  if (!span || !api.isSpanContextValid(span)) return {};
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
  const headers: Record<string, string> = { [TRACEPARENT]: `00-${span.traceId}-${span.spanId}-${flags}` };
  const state = span.traceState?.serialize();
  if (state) headers[TRACESTATE] = state;
  return headers;
}

/**
 * The event with the trace headers added, unless the caller set a `traceparent` or `tracestate` of their own (any
 * letter case): theirs wins whole, so one event never carries parts of two trace contexts. Malformed events are returned untouched
 * so that validation reports them as they were given.
 */
export function withTraceHeaders<T>(event: T, trace: Record<string, string>): T {
  if (!(TRACEPARENT in trace) || !isPlainObject(event)) return event;
  const headers = (event as { headers?: unknown }).headers;
  if (headers !== undefined && !isPlainObject(headers)) return event;
  const own = (headers ?? {}) as Record<string, unknown>;
  if (Object.keys(own).some((name) => [TRACEPARENT, TRACESTATE].includes(name.toLowerCase()))) return event;
  return { ...event, headers: { ...trace, ...own } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
