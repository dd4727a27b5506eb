import type { Message, TopicMessages } from 'kafkajs';
import type { ClaimedEvent } from '../db/claimBatch.js';

/** Headers the relay sets on every message. Consumers de-duplicate on `outbox-event-id`. */
export const HEADER_EVENT_ID = 'outbox-event-id';
export const HEADER_EVENT_TYPE = 'outbox-event-type';
export const HEADER_AGGREGATE_TYPE = 'outbox-aggregate-type';
export const HEADER_AGGREGATE_ID = 'outbox-aggregate-id';

/** Row → Kafka message. The key defaults to the event ID so that retries and replays keep the same key. */
export function toKafkaMessage(event: ClaimedEvent, extraHeaders: Record<string, string> = {}): Message {
  const headers: Record<string, string | Buffer> = {};
  for (const [name, value] of Object.entries(event.headers)) {
    headers[name] = typeof value === 'string' ? value : Buffer.from(value.base64, 'base64');
  }
  headers[HEADER_EVENT_ID] = event.id;
  if (event.type !== null) headers[HEADER_EVENT_TYPE] = event.type;
  if (event.aggregate_type !== null) headers[HEADER_AGGREGATE_TYPE] = event.aggregate_type;
  if (event.aggregate_id !== null) headers[HEADER_AGGREGATE_ID] = event.aggregate_id;
  Object.assign(headers, extraHeaders);
  return {
    key: event.key ?? event.id,
    value: event.payload,
    timestamp: String(event.created_at.getTime()),
    headers,
  };
}

/** Groups messages by topic, keeping claim order within each topic (one producer call covers all topics). */
export function toTopicMessages(events: readonly ClaimedEvent[], extraHeaders?: Record<string, string>): TopicMessages[] {
  return groupByTopic(events.map((event) => ({ topic: event.topic, message: toKafkaMessage(event, extraHeaders) })));
}

export function groupByTopic(items: readonly { topic: string; message: Message }[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const { topic, message } of items) {
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
