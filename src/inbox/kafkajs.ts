import type { EachBatchPayload, EachMessagePayload, KafkaMessage } from 'kafkajs';
import type { PoolClient } from 'pg';
import { DEFAULT_SCHEMA, quoteSchema } from '../db/identifiers.js';
import { silentLogger, type Logger } from '../log.js';
import { InvalidInboxArgumentError, MissingEventIdError } from './errors.js';
import { readEventId } from './eventIdHeader.js';
import { processOnce, validateConsumer, type ClientSource } from './processOnce.js';

/*
 * Offset semantics. kafkajs resolves a message's offset only after `eachMessage` resolves, and commits resolved offsets
 * later (after the batch, or per autoCommitInterval/Threshold). The database transaction always commits first, so:
 * - crash after the DB commit, before the offset commit → the message is redelivered → processOnce finds its row → skip;
 * - crash before the DB commit → nothing was applied → the redelivery applies it.
 * The window between the two commits costs one duplicate delivery per uncommitted message, never a double effect.
 * Effects outside this database (HTTP calls, emails, other topics) are not covered: they may happen once per delivery.
 */

export interface IdempotentConsumerOptions {
  /** Consumer name recorded with each event ID, e.g. `billing.apply-payment`. One name per logical consumer. */
  consumer: string;
  /** Schema holding processed_messages. Default `outbox`. */
  schema?: string;
  /**
   * A message without a usable `outbox-event-id` header cannot be de-duplicated.
   * - `fail` (default): throw `MissingEventIdError` (not retriable): kafkajs stops the consumer on that offset, loudly.
   * - `skip`: log a warning and move past it without calling the handler.
   * Neither ever applies such a message without the duplicate check.
   */
  onMissingEventId?: 'fail' | 'skip';
  logger?: Logger;
}

export interface InboxMessage {
  /** Lower-case UUID from the `outbox-event-id` header. */
  eventId: string;
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/** The consumer's database work for one message; runs inside the processOnce transaction. Throw to roll back. */
export type InboxMessageHandler = (tx: PoolClient, message: InboxMessage) => Promise<void>;

/**
 * `consumer.run({ eachMessage: idempotentEachMessage(pool, { consumer: 'billing' }, async (tx, m) => { … }) })`.
 * Each message's handler runs at most once per event ID and consumer, however often Kafka delivers it.
 */
export function idempotentEachMessage(
  pool: ClientSource,
  options: IdempotentConsumerOptions,
  handler: InboxMessageHandler,
): (payload: EachMessagePayload) => Promise<void> {
  const apply = createApplier(pool, options, handler);
  return ({ topic, partition, message }) => apply(topic, partition, message);
}

/**
 * `consumer.run({ ...idempotentEachBatch(pool, { consumer: 'billing' }, handler) })`. Returns `eachBatch` together
 * with `eachBatchAutoResolve: false`: each offset is resolved only after that message's transaction committed, and
 * committed as soon as kafkajs' autoCommitInterval/Threshold allow. With auto-resolve left on, stopping mid-batch
 * would mark the unprocessed rest of the batch as consumed; keep the two together.
 */
export function idempotentEachBatch(
  pool: ClientSource,
  options: IdempotentConsumerOptions,
  handler: InboxMessageHandler,
): { eachBatchAutoResolve: false; eachBatch: (payload: EachBatchPayload) => Promise<void> } {
  const apply = createApplier(pool, options, handler);
  return {
    eachBatchAutoResolve: false,
    async eachBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) {
      for (const message of batch.messages) {
        // Stopping, or a seek/rebalance made the rest of this batch stale: leave it unresolved for redelivery.
        if (!isRunning() || isStale()) return;
        await apply(batch.topic, batch.partition, message);
        resolveOffset(message.offset);
        await commitOffsetsIfNecessary();
        await heartbeat();
      }
    },
  };
}

function createApplier(pool: ClientSource, options: IdempotentConsumerOptions, handler: InboxMessageHandler) {
  // Validated once, when the consumer is set up, rather than on the first message.
  if (typeof options !== 'object' || options === null) throw new InvalidInboxArgumentError('options', 'must be an object');
  const consumer = validateConsumer(options.consumer);
  const schema = options.schema ?? DEFAULT_SCHEMA;
  quoteSchema(schema);
  const onMissing = options.onMissingEventId ?? 'fail';
  if (onMissing !== 'fail' && onMissing !== 'skip') {
    throw new InvalidInboxArgumentError('onMissingEventId', `must be 'fail' or 'skip', got ${JSON.stringify(onMissing)}`);
  }
  if (typeof handler !== 'function') throw new InvalidInboxArgumentError('handler', 'must be a function');
  const logger = options.logger ?? silentLogger();

  return async (topic: string, partition: number, message: KafkaMessage): Promise<void> => {
    const where = { topic, partition, offset: message.offset };
    const lookup = readEventId(message.headers);
    if ('problem' in lookup) {
      if (onMissing === 'fail') throw new MissingEventIdError(where, lookup.problem);
      logger.warn({ ...where, consumer, problem: lookup.problem }, 'skipping a message that cannot be de-duplicated');
      return;
    }
    const { eventId } = lookup;
    const outcome = await processOnce(pool, { consumer, eventId, schema }, (tx) => handler(tx, { eventId, topic, partition, message }));
    if (!outcome.processed) logger.debug({ ...where, consumer, eventId }, 'duplicate delivery skipped');
  };
}
