import pg from 'pg';
import { Kafka, logLevel as KafkaLogLevel, type Admin, type LogEntry } from 'kafkajs';
import type { KafkaOptions } from '../kafka/producer.js';
import type { Logger } from '../log.js';

/**
 * The observability module's own connections, so probes never compete with the relay loop for its connections and
 * never reach into its internals. One PostgreSQL connection (max 1) serves the readiness probe and the backlog
 * sampler in turn.
 */
export function createProbePool(databaseUrl: string, timeoutMs: number, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    application_name: 'outbox-relay-observe',
    max: 1,
    connectionTimeoutMillis: timeoutMs,
    keepAlive: true,
    // Bounds a probe or sampler query the caller stopped waiting for, so it cannot hold the one connection for long.
    options: '-c statement_timeout=5000',
  });
  // An idle connection broken by a PostgreSQL restart emits 'error'; the next probe connects afresh.
  pool.on('error', (err) => logger.debug({ err }, 'probe connection to PostgreSQL failed; it will be replaced'));
  return pool;
}

export async function checkPostgres(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT 1');
}

/**
 * Kafka reachability: a metadata request (describe cluster) on a long-lived admin connection. After any failure the
 * admin is dropped and the next check connects afresh, so a broker that comes back is seen at the next check.
 */
export class KafkaProbe {
  private readonly kafka: Kafka;
  private current: { admin: Admin; connected: Promise<void> } | undefined;

  constructor(options: KafkaOptions & { timeoutMs: number; logger: Logger }) {
    const log = options.logger.child({ client: 'kafkajs-probe' });
    this.kafka = new Kafka({
      clientId: `${options.clientId}-probe`,
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl,
      connectionTimeout: options.timeoutMs,
      requestTimeout: options.timeoutMs,
      // The probe answers "reachable now?": one try, and the next check tries again.
      retry: { retries: 0 },
      // The relay itself warns about Kafka outages; the probe's view is in /readyz and the connected gauge.
      logLevel: KafkaLogLevel.WARN,
      logCreator: () => (entry: LogEntry) => {
        const { message, ...rest } = entry.log;
        log.debug({ ...rest, namespace: entry.namespace }, message);
      },
    });
  }

  async check(): Promise<void> {
    try {
      if (!this.current) {
        const admin = this.kafka.admin({ retry: { retries: 0 } });
        this.current = { admin, connected: admin.connect() };
      }
      await this.current.connected;
      await this.current.admin.describeCluster();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    await current?.admin.disconnect().catch(() => undefined);
  }
}
