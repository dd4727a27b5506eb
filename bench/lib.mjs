// Shared helpers of the benchmark: services, schemas, the relay child process, machine description.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { migrate } from '../dist/index.js';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const KAFKA_BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const CLI = new URL('../bin/outbox-relay.js', import.meta.url).pathname;

export const kafka = new Kafka({ clientId: 'outbox-bench', brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING });

export async function freshSchema(label) {
  const schema = `bench_${label}_${randomBytes(3).toString('hex')}`;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await migrate(client, { schema });
  await client.end();
  return schema;
}

export async function dropSchema(pool, schema) {
  await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
}

export async function freshTopic(label, partitions = 6) {
  const topic = `bench-${label}-${randomBytes(3).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  return topic;
}

export async function deleteTopic(topic) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
}

/** A 200-byte JSON payload, the same shape in SQL and in JS. */
export const PAYLOAD_SQL = `convert_to(json_build_object('n', g, 'pad', repeat('x', 181 - length(g::text)))::text, 'UTF8')`;
export function payload(n) {
  return Buffer.from(JSON.stringify({ n, pad: 'x'.repeat(181 - String(n).length) }));
}

/**
 * Time-ordered IDs shaped like UUIDv7 (48-bit ms timestamp, version 7, variant 8): what writeWithOutbox generates by
 * default. Random v4 IDs would scatter primary-key writes over an index far larger than shared_buffers once millions
 * of rows are kept, and measure a cost our writers do not have.
 */
const UUIDV7_SQL = `(lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7000' || '8000' || lpad(to_hex(g), 12, '0'))::uuid`;

/** Inserts `count` pending (or, with `published`, already published) events in chunks of 100k. */
export async function insertBacklog(pool, schema, topic, count, { published = false } = {}) {
  const chunk = 100_000;
  for (let done = 0; done < count; done += chunk) {
    const n = Math.min(chunk, count - done);
    await pool.query(
      `INSERT INTO ${pg.escapeIdentifier(schema)}.outbox_events (id, topic, payload, headers, created_at, published_at)
       SELECT ${UUIDV7_SQL}, $1, ${PAYLOAD_SQL}, '{"content-type":"application/json"}', now() - interval '1 day',
              CASE WHEN $3 THEN now() - interval '1 day' END
       FROM generate_series($2::bigint + 1, $2::bigint + $4) g`,
      [topic, done, published, n],
    );
  }
  await pool.query(`VACUUM ANALYZE ${pg.escapeIdentifier(schema)}.outbox_events`);
}

/** `outbox-relay run` as a child process, as users run it. */
export function startRelay(schema, args = []) {
  const child = spawn(process.execPath, [CLI, 'run', '--schema', schema, '--log-level', 'warn', ...args], {
    env: { ...process.env, DATABASE_URL, KAFKA_BROKERS: KAFKA_BROKERS.join(',') },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    pid: child.pid,
    /** Peak resident memory so far (VmHWM), in MB. */
    peakRssMb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export async function waitUntil(check, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function describeMachine(pool) {
  const { rows } = await pool.query('SHOW server_version');
  const { rows: durability } = await pool.query(`SELECT current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync`);
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    postgres: rows[0].server_version,
    postgresDurability: `synchronous_commit=${durability[0].sc}, fsync=${durability[0].fsync}`,
    kafka: kafkaVersion(),
    kafkajs: JSON.parse(readFileSync(new URL('../node_modules/kafkajs/package.json', import.meta.url), 'utf8')).version,
  };
}

function kafkaVersion() {
  try {
    const pid = readFileSync(new URL('../.kafka/kafka.pid', import.meta.url), 'utf8').trim();
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /lib-([0-9][^/]*)\//.exec(cmdline)?.[1] ?? 'unknown';
  } catch {
    return process.env.KAFKA_VERSION ?? 'unknown (not started by scripts/services.sh)';
  }
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
