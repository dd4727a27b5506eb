import type { ClaimedEvent } from '../db/claimBatch.js';
import type { EventFailure } from '../db/recordFailures.js';
import { classifyKafkaError, describeKafkaError } from '../kafka/errors.js';
import { toKafkaMessage, toTopicMessages } from '../kafka/message.js';
import type { KafkaPublisher } from '../kafka/producer.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';

export interface FailurePolicy {
  /** Attempts before an event Kafka refuses for good (too large, illegal topic, not authorised) goes dead. */
  maxAttempts: number;
  /** Backoff of one refused event, by its attempt count. */
  eventBackoff: BackoffPolicy;
}

export interface PublishOutcome {
  /** seq of every event Kafka acknowledged. */
  published: string[];
  failures: EventFailure[];
}

/**
 * Publishes a claimed batch with one producer call. When Kafka refuses a message (not the connection), the batch is
 * retried one event at a time to find the refused ones: they are backed off (or go dead) alone, the others are
 * published. A transport failure throws, so the caller rolls the whole batch back and the loop backs off.
 * Anything sent before a throw is republished later: at most one batch of duplicates per failure.
 */
export async function publishEvents(
  publisher: KafkaPublisher,
  events: readonly ClaimedEvent[],
  policy: FailurePolicy,
  now: () => number = Date.now,
): Promise<PublishOutcome> {
  // A row another tool wrote with headers that are valid jsonb but no Kafka header (`{"n": 5}`, `null`) can never be
  // sent: it goes dead at once. Left in the batch, toKafkaMessage's TypeError was taken for a bug in the relay, which
  // exited 1 and, restarted, crashed on the same row again: every relay on the table stopped for good.
  const unsendable: EventFailure[] = [];
  const sendable = events.filter((event) => {
    try {
      toKafkaMessage(event);
      return true;
    } catch (err) {
      const error = `the row cannot be made into a Kafka message: ${describeKafkaError(err)}`;
      unsendable.push({ seq: event.seq, kind: 'permanent', error, nextAttemptAt: new Date(now()), dead: true });
      return false;
    }
  });
  const outcome = sendable.length === 0 ? { published: [], failures: [] } : await publishSendable(publisher, sendable, policy, now);
  return { published: outcome.published, failures: [...outcome.failures, ...unsendable] };
}

async function publishSendable(
  publisher: KafkaPublisher,
  events: readonly ClaimedEvent[],
  policy: FailurePolicy,
  now: () => number,
): Promise<PublishOutcome> {
  try {
    await publisher.send(toTopicMessages(events));
    return { published: events.map((e) => e.seq), failures: [] };
  } catch (err) {
    if (classifyKafkaError(err) === 'transient') throw err;
    if (events.length === 1) return { published: [], failures: [toFailure(events[0] as ClaimedEvent, err, policy, now)] };
  }
  const outcome: PublishOutcome = { published: [], failures: [] };
  for (const event of events) {
    try {
      await publisher.send(toTopicMessages([event]));
      outcome.published.push(event.seq);
    } catch (err) {
      if (classifyKafkaError(err) === 'transient') throw err;
      outcome.failures.push(toFailure(event, err, policy, now));
    }
  }
  return outcome;
}

function toFailure(event: ClaimedEvent, err: unknown, policy: FailurePolicy, now: () => number): EventFailure {
  const attempt = event.attempts + 1;
  const permanent = classifyKafkaError(err) === 'permanent';
  return {
    seq: event.seq,
    kind: permanent ? 'permanent' : 'event',
    error: describeKafkaError(err),
    nextAttemptAt: new Date(now() + backoffDelay(attempt, policy.eventBackoff)),
    dead: permanent && attempt >= policy.maxAttempts,
  };
}
