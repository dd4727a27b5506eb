import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type ITopicConfig, type KafkaMessage } from 'kafkajs';
import { inject } from 'vitest';

export function kafkaBrokers(): string[] {
  return inject('kafkaBrokers').split(',');
}

/** A client of the shared test broker, or of `brokers` (a private broker of a fault test). */
export function kafka(brokers: string[] = kafkaBrokers()): Kafka {
  return new Kafka({ clientId: 'outbox-relay-tests', brokers, logLevel: logLevel.NOTHING });
}

/** A unique topic per test (kafkajs' own tests do the same). */
export function randomTopic(label = 'test'): string {
  return `outbox-${label}-${randomBytes(5).toString('hex')}`;
}

/** Creates a topic, optionally with topic-level configs (e.g. max.message.bytes) or on another broker. */
export async function createTopic(
  topic: string,
  numPartitions = 3,
  options: { brokers?: string[]; configEntries?: ITopicConfig['configEntries'] } = {},
): Promise<void> {
  const admin = kafka(options.brokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1, configEntries: options.configEntries }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Total messages in a topic, from partition high watermarks (cheap; no consumer group). */
export async function topicMessageCount(topic: string, brokers?: string[]): Promise<number> {
  const admin = kafka(brokers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

/**
 * Reads a topic from the beginning until `count` messages arrived (then drains what the high watermarks say is
 * there, so a test also sees extra messages), or fails after `timeoutMs` saying how many came.
 */
export async function consumeTopic(topic: string, count: number, timeoutMs = 60_000): Promise<ConsumedMessage[]> {
  const consumer = kafka().consumer({ groupId: `test-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 100 });
  const messages: ConsumedMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let expected = count;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        messages.push(toConsumed(t, partition, message));
        if (messages.length >= expected) resolveDone();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`consumed ${messages.length} of ${expected} messages from ${topic} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([done, timeout]);
      // Whatever the broker holds beyond `count` (duplicates, phantoms) must be read too.
      const total = await topicMessageCount(topic);
      if (total > messages.length) {
        expected = total;
        await Promise.race([new Promise<void>((resolve) => (resolveDone = resolve)), timeout]);
      }
    } finally {
      clearTimeout(timer);
    }
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

function toConsumed(topic: string, partition: number, message: KafkaMessage): ConsumedMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    headers[name] = Array.isArray(value) ? String(value[0]) : String(value);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    value: message.value,
    headers,
    timestamp: message.timestamp,
  };
}
