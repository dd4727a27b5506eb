import type { ClaimedEvent } from '../db/claimBatch.js';
import type { EventFailure } from '../db/recordFailures.js';
import { classifyKafkaError, describeKafkaError } from '../kafka/errors.js';
import type { Message } from 'kafkajs';
import { groupByTopic, toKafkaMessage } from '../kafka/message.js';
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
  const prepared: Prepared[] = [];
  for (const event of events) {
    try {
      prepared.push({ topic: event.topic, message: toKafkaMessage(event), event });
    } catch (err) {
      const error = `the row cannot be made into a Kafka message: ${describeKafkaError(err)}`;
      unsendable.push({ seq: event.seq, kind: 'permanent', error, nextAttemptAt: new Date(now()), dead: true });
    }
  }
  const outcome = prepared.length === 0 ? { published: [], failures: [] } : await publishPrepared(publisher, prepared, policy, now);
  return { published: outcome.published, failures: [...outcome.failures, ...unsendable] };
}

interface Prepared {
  topic: string;
  message: Message;
  event: ClaimedEvent;
}

async function publishPrepared(publisher: KafkaPublisher, batch: readonly Prepared[], policy: FailurePolicy, now: () => number): Promise<PublishOutcome> {
  try {
    await publisher.send(groupByTopic(batch));
    return { published: batch.map((p) => p.event.seq), failures: [] };
  } catch (err) {
    if (classifyKafkaError(err) === 'transient') throw err;
    if (batch.length === 1) return { published: [], failures: [toFailure(batch[0]!.event, err, policy, now)] };
  }
  const outcome: PublishOutcome = { published: [], failures: [] };
  for (const one of batch) {
    try {
      await publisher.send(groupByTopic([one]));
      outcome.published.push(one.event.seq);
    } catch (err) {
      if (classifyKafkaError(err) === 'transient') throw err;
      outcome.failures.push(toFailure(one.event, err, policy, now));
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
