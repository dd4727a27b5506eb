/**
 * A small error hierarchy in the style of kafkajs: every error the library throws on purpose carries a stable
 * `code`, says whether retrying can help (`retriable`), and keeps the original error as `cause`.
 */
export class OutboxError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(message: string, options: { code: string; retriable?: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.retriable = options.retriable ?? false;
  }
}

/** An event handed to `writeWithOutbox` is invalid. Thrown before any SQL is sent. */
export class InvalidEventError extends OutboxError {
  /** The offending field, e.g. `topic`, `payload`, `headers.trace-id`, `events[3].id`. */
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`invalid outbox event: ${field} ${problem}`, { code: 'OUTBOX_INVALID_EVENT' });
    this.field = field;
  }
}

/** An event with this ID is already in the outbox (the caller's transaction is now aborted). */
export class DuplicateEventIdError extends OutboxError {
  constructor(cause: unknown) {
    super('an outbox event with this id already exists', { code: 'OUTBOX_DUPLICATE_EVENT_ID', cause });
  }
}

/** A configuration value or CLI argument is invalid. The CLI maps it to exit code 2. */
export class ConfigError extends OutboxError {
  /** The option as the user would write it, e.g. `--batch-size` / `OUTBOX_BATCH_SIZE`. */
  readonly option: string;

  constructor(option: string, problem: string) {
    super(`invalid configuration: ${option} ${problem}`, { code: 'OUTBOX_CONFIG' });
    this.option = option;
  }
}

/** Kafka did not acknowledge a batch within the publish timeout. */
export class PublishTimeoutError extends OutboxError {
  constructor(timeoutMs: number) {
    super(`Kafka did not acknowledge the batch within ${timeoutMs} ms`, {
      code: 'OUTBOX_PUBLISH_TIMEOUT',
      retriable: true,
    });
  }
}

/** Normalises anything thrown into an Error, keeping the original as `cause` when it was not one. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : `non-error thrown: ${safeString(thrown)}`, {
    cause: thrown,
  });
}

/**
 * Programming errors are never retried: a TypeError in the loop would otherwise spin forever. The relay exits
 * non-zero on them so a supervisor restarts it with a clean state.
 */
export function isProgrammingError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError;
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
