/**
 * How a Kafka failure should be handled:
 * - `permanent`: the message itself can never be accepted (too large, illegal topic, not authorised). Retrying the
 *   same bytes cannot help; after `maxAttempts` the event goes dead.
 * - `event`: this event cannot go now but may later (topic not created yet). Backed off alone, never dead.
 * - `transient`: the broker or network is the problem, not the event. The whole batch is rolled back and the loop
 *   backs off; attempts are not charged to the events.
 */
export type FailureKind = 'permanent' | 'event' | 'transient';

const PERMANENT_TYPES = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'POLICY_VIOLATION',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);
const EVENT_TYPES = new Set(['UNKNOWN_TOPIC_OR_PARTITION']);

/** Walks the cause chain (kafkajs wraps protocol errors in retry and aggregate errors). */
export function classifyKafkaError(err: unknown): FailureKind {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  let kind: FailureKind = 'transient';
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const record = e as { type?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
    if (typeof record.type === 'string' && PERMANENT_TYPES.has(record.type)) return 'permanent';
    if (record.name === 'KafkaJSInvalidTopicName' ) return 'permanent';
    if (typeof record.type === 'string' && EVENT_TYPES.has(record.type)) kind = 'event';
    queue.push(record.cause);
    if (Array.isArray(record.errors)) queue.push(...record.errors);
  }
  return kind;
}

export function describeKafkaError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const r = e as { name?: string; message?: string; type?: string; cause?: unknown };
    parts.push(`${r.type ?? r.name ?? 'Error'}: ${r.message ?? String(e)}`);
    e = r.cause;
  }
  return parts.join(' <- ');
}
