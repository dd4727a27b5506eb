#!/usr/bin/env node
// Kafka smoke test used by scripts/services.sh to decide that the broker REALLY
// accepts work (not merely that its port is open). It drives the same kafkajs
// client the relay uses through a complete round trip:
//
//   admin.createTopics (6 partitions, wait for leaders)
//   idempotent producer, acks=-1: send() + sendBatch()
//   consumer group: join, subscribe (fromBeginning), fetch, commitOffsets
//   admin.fetchOffsets (group) + admin.fetchTopicOffsets (high watermarks)
//   admin.deleteTopics + admin.deleteGroups
//
// While the broker is still starting, the whole round trip is retried until the
// overall deadline. Exit code 0 = healthy, 1 = not healthy within the deadline.
//
// Env:
//   KAFKA_BROKERS         comma separated, default 127.0.0.1:9092
//   SMOKE_TIMEOUT_MS      overall deadline, default 60000
//   SMOKE_VERBOSE=1       print kafkajs warnings/errors and every failed attempt

import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const timeoutMs = Number(process.env.SMOKE_TIMEOUT_MS || 60_000);
const verbose = process.env.SMOKE_VERBOSE === '1';
const deadline = Date.now() + timeoutMs;

// Hard stop: kafkajs retries some things forever (idempotent producer), so never
// rely on it giving up by itself.
const killTimer = setTimeout(() => {
  console.error(`kafka-smoke: FAILED, no successful round trip within ${timeoutMs} ms`);
  process.exit(1);
}, timeoutMs + 5_000);
killTimer.unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Reject if `promise` does not settle within `ms`. */
function within(ms, what, promise) {
  let t;
  const timer = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timer]).finally(() => clearTimeout(t));
}

async function roundTrip() {
  const id = randomUUID().slice(0, 8);
  const topic = `smoke-${Date.now()}-${id}`;
  const groupId = `smoke-group-${id}`;
  const kafka = new Kafka({
    clientId: 'outbox-relay-smoke',
    brokers,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 200 },
    logLevel: verbose ? logLevel.WARN : logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 250, // short fetch long-poll so disconnect() is quick
  });
  let topicCreated = false;

  try {
    await within(10_000, 'admin.connect', admin.connect());
    await within(15_000, 'createTopics', admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
    }));
    topicCreated = true;

    // Produce: one send() and one sendBatch(), 6 messages in total.
    await within(10_000, 'producer.connect', producer.connect());
    const expected = new Set();
    const msg = (n) => {
      const value = `${id}-${n}`;
      expected.add(value);
      return { key: `k${n}`, value, headers: { 'smoke-id': id } };
    };
    await within(15_000, 'producer.send', producer.send({ topic, acks: -1, messages: [msg(0)] }));
    await within(15_000, 'producer.sendBatch', producer.sendBatch({
      acks: -1,
      topicMessages: [{ topic, messages: [1, 2, 3, 4, 5].map(msg) }],
    }));

    // Consume everything back through a consumer group and commit explicitly.
    await within(10_000, 'consumer.connect', consumer.connect());
    await within(10_000, 'consumer.subscribe', consumer.subscribe({ topics: [topic], fromBeginning: true }));
    const seen = new Set();
    const offsets = new Map(); // partition -> next offset to commit
    let resolveAll;
    const allSeen = new Promise((r) => { resolveAll = r; });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        seen.add(message.value.toString());
        const next = (BigInt(message.offset) + 1n).toString();
        offsets.set(partition, next);
        if ([...expected].every((v) => seen.has(v))) resolveAll();
      },
    });
    await within(30_000, 'consume all messages', allSeen);
    await within(10_000, 'consumer.commitOffsets', consumer.commitOffsets(
      [...offsets].map(([partition, offset]) => ({ topic, partition, offset })),
    ));
    await within(15_000, 'consumer.disconnect', consumer.disconnect());

    // Cross-check committed offsets against the topic's high watermarks.
    const high = await within(10_000, 'fetchTopicOffsets', admin.fetchTopicOffsets(topic));
    const produced = high.reduce((sum, p) => sum + Number(p.high), 0);
    const [committed] = await within(10_000, 'fetchOffsets', admin.fetchOffsets({ groupId, topics: [topic] }));
    const consumedTo = committed.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    if (high.length !== 6) throw new Error(`expected 6 partitions, broker reports ${high.length}`);
    if (produced !== expected.size || consumedTo !== expected.size) {
      throw new Error(`offset mismatch: produced=${produced} committed=${consumedTo} expected=${expected.size}`);
    }

    await within(15_000, 'deleteTopics', admin.deleteTopics({ topics: [topic] }));
    topicCreated = false;
    await within(10_000, 'deleteGroups', admin.deleteGroups([groupId]));
    return { topic, messages: expected.size };
  } finally {
    // Best-effort cleanup; never let it mask the real error.
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    if (topicCreated) await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

let attempt = 0;
let lastError;
const started = Date.now();
while (Date.now() < deadline) {
  attempt += 1;
  try {
    const res = await roundTrip();
    console.log(
      `kafka-smoke: OK (${brokers.join(',')}) topic=${res.topic} messages=${res.messages} ` +
      `attempts=${attempt} ${Date.now() - started}ms`,
    );
    process.exit(0);
  } catch (err) {
    lastError = err;
    if (verbose) console.error(`kafka-smoke: attempt ${attempt} failed: ${err?.stack || err}`);
    await sleep(1_000);
  }
}
console.error(`kafka-smoke: FAILED after ${attempt} attempt(s): ${lastError?.stack || lastError}`);
process.exit(1);
