import { readFileSync } from 'node:fs';
import { parseDuration } from './duration.js';
import { ConfigError } from './errors.js';

/** Everything the CLI's commands can be configured with. Precedence: flag > environment > config file > default. */
export interface RelayConfig {
  /** PostgreSQL connection string (`postgres://…`). Required. */
  databaseUrl: string;
  /** Kafka bootstrap brokers, `host:port`. Required for commands that publish. */
  kafkaBrokers: string[];
  /** Schema of the outbox tables. */
  schema: string;
  /** Events per claim/publish/mark transaction: throughput vs. duplicates after a crash (≤ one batch) and lock time. */
  batchSize: number;
  /** Idle wait between claims when no NOTIFY arrives: worst-case latency of a lost notification vs. queries/s. */
  pollIntervalMs: number;
  /** Do not LISTEN for commits; poll only (for poolers such as PgBouncer in transaction mode, which drop LISTEN). */
  pollOnly: boolean;
  /** Bound on one Kafka publish; claimed rows stay locked at most this long when a broker hangs. */
  publishTimeoutMs: number;
  /** Attempts before an event Kafka refuses for good goes dead. */
  maxAttempts: number;
  /** SIGTERM: time to finish the batch in flight and disconnect before exiting anyway. */
  shutdownTimeoutMs: number;
  /**
   * `run` deletes published events older than this (ms); 0 = keep them all. Default 7 days: enough history to replay
   * a week of events to a consumer that lost its state, while the table stops growing without bound (at 100 events/s,
   * 60M rows a week instead of 3 billion a year). Pending and dead events are never deleted.
   */
  retentionMs: number;
  kafkaClientId: string;
  kafkaSsl: boolean;
  kafkaSaslMechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined;
  kafkaSaslUsername: string | undefined;
  kafkaSaslPassword: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Port of the HTTP server for `/metrics`, `/healthz`, `/readyz`; 0 = no server. Off by default: several relays on
   * one host (the usual way to scale out) would otherwise collide on a fixed port, and a daemon that cannot start
   * because of an optional endpoint is worse than one without it. The container image turns it on (9464).
   */
  metricsPort: number;
  /**
   * Address the metrics server binds. Default 127.0.0.1: metrics name topics and traffic volumes, so exposing them
   * beyond the host is a choice, not an accident. Containers set 0.0.0.0, where the pod/network is the boundary and
   * Prometheus and kubelet probes connect from outside the container.
   */
  metricsHost: string;
}

type Key = keyof RelayConfig;
type Source = 'flag' | 'env' | 'file';

interface OptionSpec {
  flag: string;
  env: string;
  parse: (raw: unknown, name: string) => unknown;
  default?: unknown;
  /** How --help shows the default, when String(default) is not how a user would write it (604800000 → 7d). */
  defaultText?: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const SASL = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** The one table of options: flag, environment variable, parser, default. The README's table mirrors it. */
export const OPTIONS: Record<Key, OptionSpec> = {
  databaseUrl: { flag: '--database-url', env: 'DATABASE_URL', parse: postgresUrl },
  kafkaBrokers: { flag: '--kafka-brokers', env: 'KAFKA_BROKERS', parse: brokerList },
  schema: { flag: '--schema', env: 'OUTBOX_SCHEMA', parse: identifier, default: 'outbox' },
  batchSize: { flag: '--batch-size', env: 'OUTBOX_BATCH_SIZE', parse: integer(1, 10_000), default: 500 },
  pollIntervalMs: { flag: '--poll-interval', env: 'OUTBOX_POLL_INTERVAL_MS', parse: integer(10, 3_600_000), default: 1_000 },
  pollOnly: { flag: '--poll-only', env: 'OUTBOX_POLL_ONLY', parse: boolean, default: false },
  publishTimeoutMs: { flag: '--publish-timeout', env: 'OUTBOX_PUBLISH_TIMEOUT_MS', parse: integer(100, 600_000), default: 10_000 },
  maxAttempts: { flag: '--max-attempts', env: 'OUTBOX_MAX_ATTEMPTS', parse: integer(1, 1_000), default: 5 },
  shutdownTimeoutMs: { flag: '--shutdown-timeout', env: 'OUTBOX_SHUTDOWN_TIMEOUT_MS', parse: integer(0, 600_000), default: 30_000 },
  retentionMs: { flag: '--retention', env: 'OUTBOX_RETENTION', parse: retention, default: 7 * 86_400_000, defaultText: '7d' },
  kafkaClientId: { flag: '--kafka-client-id', env: 'KAFKA_CLIENT_ID', parse: nonEmpty, default: 'outbox-relay' },
  kafkaSsl: { flag: '--kafka-ssl', env: 'KAFKA_SSL', parse: boolean, default: false },
  kafkaSaslMechanism: { flag: '--kafka-sasl-mechanism', env: 'KAFKA_SASL_MECHANISM', parse: oneOf(SASL) },
  kafkaSaslUsername: { flag: '--kafka-sasl-username', env: 'KAFKA_SASL_USERNAME', parse: nonEmpty },
  kafkaSaslPassword: { flag: '--kafka-sasl-password', env: 'KAFKA_SASL_PASSWORD', parse: nonEmpty },
  logLevel: { flag: '--log-level', env: 'OUTBOX_LOG_LEVEL', parse: oneOf(LOG_LEVELS), default: 'info' },
  metricsPort: { flag: '--metrics-port', env: 'OUTBOX_METRICS_PORT', parse: integer(0, 65_535), default: 0 },
  metricsHost: { flag: '--metrics-host', env: 'OUTBOX_METRICS_HOST', parse: host, default: '127.0.0.1' },
};

export interface ConfigSources {
  /** Parsed CLI flags by config key (commander's camelCase names); undefined = not given. */
  flags?: Partial<Record<Key, unknown>>;
  /** Usually `process.env`; the library itself never reads it. */
  env?: Record<string, string | undefined>;
  /** Path of a JSON config file with config keys, e.g. `{"batchSize": 200}`. */
  configFile?: string;
  /** Keys that must end up set (e.g. `kafkaBrokers` for `run`). */
  required?: Key[];
}

/** Resolves and validates the configuration once, at start-up. Throws `ConfigError` naming the option. */
export function resolveConfig(sources: ConfigSources): RelayConfig {
  const file = sources.configFile === undefined ? {} : readConfigFile(sources.configFile);
  const env = sources.env ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(OPTIONS) as [Key, OptionSpec][]) {
    const candidates: [Source, unknown, string][] = [
      ['flag', sources.flags?.[key], spec.flag],
      ['env', emptyToUndefined(env[spec.env]), spec.env],
      ['file', file[key], `${key} (in ${sources.configFile})`],
    ];
    const given = candidates.find(([, value]) => value !== undefined);
    out[key] = given ? spec.parse(given[1], given[2]) : spec.default;
  }
  for (const key of sources.required ?? []) {
    const value = out[key];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) {
      throw new ConfigError(`${OPTIONS[key].flag} / ${OPTIONS[key].env}`, 'is required');
    }
  }
  const config = out as unknown as RelayConfig;
  if (config.kafkaSaslMechanism && (!config.kafkaSaslUsername || !config.kafkaSaslPassword)) {
    throw new ConfigError(OPTIONS.kafkaSaslUsername.flag, `and ${OPTIONS.kafkaSaslPassword.flag} are required with ${OPTIONS.kafkaSaslMechanism.flag}`);
  }
  return config;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('--config', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('--config', `${path} must hold a JSON object`);
  }
  for (const key of Object.keys(parsed)) {
    if (!(key in OPTIONS)) throw new ConfigError('--config', `${path} has an unknown option "${key}" (known: ${Object.keys(OPTIONS).join(', ')})`);
  }
  return parsed as Record<string, unknown>;
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function postgresUrl(raw: unknown, name: string): string {
  const value = nonEmpty(raw, name);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, 'must be a URL like postgres://user:password@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(name, `must use the postgres:// or postgresql:// scheme, got ${url.protocol}//`);
  }
  return value;
}

function brokerList(raw: unknown, name: string): string[] {
  const list = Array.isArray(raw) ? raw : String(raw).split(',');
  const brokers = list.map((b) => String(b).trim()).filter((b) => b !== '');
  if (brokers.length === 0) throw new ConfigError(name, 'must list at least one broker as host:port');
  for (const broker of brokers) {
    const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(broker);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65_535) {
      throw new ConfigError(name, `has "${broker}", expected host:port (e.g. 127.0.0.1:9092)`);
    }
  }
  return brokers;
}

/** A bind address: IPv4, IPv6 (`::`, `::1`) or a host name. */
function host(raw: unknown, name: string): string {
  const value = nonEmpty(raw, name).trim();
  if (!/^([A-Za-z0-9.-]+|[0-9A-Fa-f:]+)$/.test(value)) {
    throw new ConfigError(name, `must be an address to listen on (e.g. 127.0.0.1, 0.0.0.0, ::), got ${JSON.stringify(value)}`);
  }
  return value;
}

function identifier(raw: unknown, name: string): string {
  const value = nonEmpty(raw, name);
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value)) {
    throw new ConfigError(name, `must be a plain SQL identifier (letters, digits, _), got ${JSON.stringify(value)}`);
  }
  return value;
}

function integer(min: number, max: number) {
  return (raw: unknown, name: string): number => {
    const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return n;
  };
}

/**
 * A duration (`7d`, `36h`; see parseDuration), or `0` for "keep everything". In a JSON config file the key is
 * `retentionMs`, so a number there is milliseconds.
 */
function retention(raw: unknown, name: string): number {
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw) || raw < 0) throw new ConfigError(name, `must be a whole number of ms ≥ 0, got ${raw}`);
    return raw;
  }
  if (typeof raw === 'string' && raw.trim() === '0') return 0;
  try {
    return parseDuration(raw, name);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(name, `must be a duration like 7d, 36h or 90m, or 0 to keep published events forever, got ${JSON.stringify(raw)}`);
  }
}

function boolean(raw: unknown, name: string): boolean {
  if (typeof raw === 'boolean') return raw;
  const s = String(raw).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(raw)}`);
}

function nonEmpty(raw: unknown, name: string): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new ConfigError(name, 'must be a non-empty string');
  return raw;
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: unknown, name: string): T => {
    if (typeof raw !== 'string' || !values.includes(raw as T)) {
      throw new ConfigError(name, `must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
    }
    return raw as T;
  };
}

