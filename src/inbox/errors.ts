import { OutboxError } from '../errors.js';

/** An argument to processOnce, the Kafka adapters or pruneProcessedMessages is invalid. Thrown before any SQL is sent. */
export class InvalidInboxArgumentError extends OutboxError {
  /** The offending field, e.g. `consumer`, `eventId`, `olderThanMs`. */
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`invalid inbox argument: ${field} ${problem}`, { code: 'OUTBOX_INBOX_INVALID_ARGUMENT' });
    this.field = field;
  }
}

/**
 * A Kafka message carries no usable `outbox-event-id` header, so it cannot be de-duplicated. Not retriable: kafkajs
 * then stops the consumer instead of retrying, and the message is never applied without the duplicate check.
 */
export class MissingEventIdError extends OutboxError {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;

  constructor(where: { topic: string; partition: number; offset: string }, problem: string) {
    super(
      `message ${where.topic}[${where.partition}]@${where.offset} ${problem}; it cannot be de-duplicated, so it was not processed ` +
        `(pass onMissingEventId: 'skip' to log and skip such messages)`,
      { code: 'OUTBOX_INBOX_MISSING_EVENT_ID' },
    );
    this.topic = where.topic;
    this.partition = where.partition;
    this.offset = where.offset;
  }
}

/**
 * The handler returned normally but left its transaction aborted (it caught and swallowed a failed statement), so
 * PostgreSQL turned COMMIT into ROLLBACK: nothing was applied. Reported rather than returned as success, because a
 * success would let Kafka commit the offset and the event would be lost. Retriable: nothing was written.
 */
export class InboxTransactionAbortedError extends OutboxError {
  constructor(consumer: string, eventId: string) {
    super(
      `the handler for event ${eventId} (consumer ${JSON.stringify(consumer)}) left its transaction aborted, so COMMIT ` +
        'rolled back; rethrow failed queries instead of catching them inside the handler',
      { code: 'OUTBOX_INBOX_TRANSACTION_ABORTED', retriable: true },
    );
  }
}
