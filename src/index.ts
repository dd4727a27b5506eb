// The public API: re-exports only.
export { writeWithOutbox, writeManyWithOutbox, type Queryable, type WriteOptions } from './outbox/write.js';
export { encodeEvent, isValidTopicName, DEFAULT_LIMITS, type OutboxEventInput, type EncodedEvent, type ValidationLimits } from './outbox/event.js';
export { insertEventsSql, insertEventsParams } from './db/insertEvents.js';
export { migrate, type MigrateOptions, type MigrateResult } from './migrate.js';
export { createRelay, type Relay, type RelayOptions, type RelayObserver, type BatchResult } from './relay/relay.js';
export type { ClaimedEvent } from './db/claimBatch.js';
export { resolveConfig, OPTIONS as CONFIG_OPTIONS, type RelayConfig, type ConfigSources } from './config.js';
export { HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_AGGREGATE_TYPE, HEADER_AGGREGATE_ID } from './kafka/message.js';
export type { KafkaOptions } from './kafka/producer.js';
export { createLogger, redactUrl, type Logger } from './log.js';
export { DEFAULT_SCHEMA } from './db/identifiers.js';
export {
  OutboxError,
  InvalidEventError,
  DuplicateEventIdError,
  ConfigError,
  PublishTimeoutError,
} from './errors.js';
