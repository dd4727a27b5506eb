// The public API: re-exports only.
export { writeWithOutbox, writeManyWithOutbox, type Queryable, type WriteOptions } from './outbox/write.js';
export { encodeEvent, isValidTopicName, DEFAULT_LIMITS, type OutboxEventInput, type EncodedEvent, type ValidationLimits } from './outbox/event.js';
export { insertEventsSql, insertEventsParams } from './db/insertEvents.js';
export { migrate, type MigrateOptions, type MigrateResult } from './migrate.js';
export { createRelay, type Relay, type RelayOptions, type RelayObserver, type BatchResult, type BatchDetails } from './relay/relay.js';
export type { ClaimedEvent } from './db/claimBatch.js';
export { resolveConfig, OPTIONS as CONFIG_OPTIONS, type RelayConfig, type ConfigSources } from './config.js';
export { HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_AGGREGATE_TYPE, HEADER_AGGREGATE_ID } from './kafka/message.js';
export type { KafkaOptions } from './kafka/producer.js';
export { createLogger, redactUrl, type Logger } from './log.js';
export { DEFAULT_SCHEMA } from './db/identifiers.js';
export { replay, HEADER_REPLAY, ReplayFailedError, type ReplayOptions, type ReplayResult, type ReplayProgress, type ReplayStart, type ReplayWindowInfo, type ReplaySampleEvent, type RetentionGap } from './ops/replay.js';
export { getStatus, exceededThresholds, type OutboxStatus, type TopicStatus, type StatusThresholds } from './ops/status.js';
export { prune, startRetention, type PruneOptions, type PruneResult, type RetentionOptions } from './ops/prune.js';
export { listDeadEvents, retryDead, discardDead, type DeadListOptions, type DeadEventRow, type RetryResult, type DiscardResult } from './ops/dead.js';
export { processOnce, type ProcessOnceOptions, type ProcessOnceResult, type ProcessOnceHandler, type ClientSource } from './inbox/processOnce.js';
export { idempotentEachMessage, idempotentEachBatch, type IdempotentConsumerOptions, type InboxMessage, type InboxMessageHandler } from './inbox/kafkajs.js';
export { pruneProcessedMessages, type PruneProcessedOptions } from './inbox/prune.js';
export { InvalidInboxArgumentError, MissingEventIdError, InboxTransactionAbortedError } from './inbox/errors.js';
export { createObservability, type Observability, type ObservabilityOptions } from './observe/observability.js';
export { createRelayMetrics, type RelayMetrics } from './observe/metrics.js';
export { currentTraceHeaders } from './observe/trace.js';
export {
  OutboxError,
  InvalidEventError,
  DuplicateEventIdError,
  ConfigError,
  PublishTimeoutError,
} from './errors.js';
