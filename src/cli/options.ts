import { Option, type Command } from 'commander';
import { OPTIONS, resolveConfig, type RelayConfig } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import type { KafkaOptions } from '../kafka/producer.js';

type Key = keyof RelayConfig;

const DESCRIPTIONS: Record<Key, string> = {
  databaseUrl: 'PostgreSQL connection string',
  kafkaBrokers: 'Kafka brokers, comma-separated host:port',
  schema: 'schema of the outbox tables',
  batchSize: 'events per claim/publish/mark transaction',
  pollIntervalMs: 'idle wait between claims when no NOTIFY arrives, in ms',
  pollOnly: 'do not LISTEN for commits, only poll (PgBouncer transaction mode)',
  publishTimeoutMs: 'longest wait for Kafka to acknowledge a batch, in ms',
  maxAttempts: 'attempts before an event Kafka refuses for good goes dead',
  shutdownTimeoutMs: 'on SIGTERM, time to finish the batch in flight, in ms',
  retentionMs: 'delete published events older than this, e.g. 7d, 36h; 0 = keep all (pending and dead events are never deleted)',
  kafkaClientId: 'Kafka client id',
  kafkaSsl: 'connect to Kafka over TLS',
  kafkaSaslMechanism: 'Kafka SASL mechanism: plain, scram-sha-256, scram-sha-512',
  kafkaSaslUsername: 'Kafka SASL user name',
  kafkaSaslPassword: 'Kafka SASL password (prefer the environment variable)',
  logLevel: 'fatal, error, warn, info, debug, trace or silent',
  metricsPort: 'port for /metrics, /healthz and /readyz; 0 = off',
  metricsHost: 'address the metrics server listens on (0.0.0.0 = all interfaces)',
};

export const CONNECTION_KEYS: Key[] = ['databaseUrl', 'schema', 'logLevel'];
export const KAFKA_KEYS: Key[] = ['kafkaBrokers', 'kafkaClientId', 'kafkaSsl', 'kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword', 'publishTimeoutMs'];
export const RELAY_KEYS: Key[] = ['batchSize', 'pollIntervalMs', 'pollOnly', 'maxAttempts', 'shutdownTimeoutMs', 'retentionMs'];
export const OBSERVE_KEYS: Key[] = ['metricsPort', 'metricsHost'];

/** Adds the flags for `keys`, with no commander defaults: an absent flag must fall through to env, file, default. */
export function addConfigOptions(command: Command, keys: Key[]): Command {
  for (const key of keys) {
    const spec = OPTIONS[key];
    const takesValue = typeof spec.default !== 'boolean';
    const defaultText = spec.default === undefined ? '' : ` (default: ${spec.defaultText ?? String(spec.default)})`;
    command.addOption(new Option(`${spec.flag}${takesValue ? ' <value>' : ''}`, `${DESCRIPTIONS[key]}; env ${spec.env}${defaultText}`));
  }
  if (!command.options.some((o) => o.long === '--config')) {
    command.addOption(new Option('--config <file>', 'JSON config file (flags and environment override it); env OUTBOX_CONFIG'));
  }
  return command;
}

/** commander's attribute name for a flag: `--poll-interval` → `pollInterval`. */
function attributeName(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Flags → env → file → defaults, validated; throws ConfigError (exit 2) naming the option. */
export function configFromCommand(command: Command, required: Key[]): RelayConfig {
  const opts = command.opts<Record<string, unknown>>();
  const flags: Partial<Record<Key, unknown>> = {};
  for (const [key, spec] of Object.entries(OPTIONS) as [Key, (typeof OPTIONS)[Key]][]) {
    flags[key] = opts[attributeName(spec.flag)];
  }
  const configFile = (opts.config as string | undefined) ?? (process.env.OUTBOX_CONFIG || undefined);
  return resolveConfig({ flags, env: process.env, configFile, required });
}

export function loggerFor(config: RelayConfig): Logger {
  // Pretty lines for a person at a terminal; JSON for everything else (files, pipes, log shippers).
  return createLogger({ level: config.logLevel, pretty: process.stdout.isTTY === true });
}

export function kafkaOptionsFrom(config: RelayConfig): KafkaOptions {
  return {
    brokers: config.kafkaBrokers,
    clientId: config.kafkaClientId,
    ssl: config.kafkaSsl,
    sasl:
      config.kafkaSaslMechanism && config.kafkaSaslUsername && config.kafkaSaslPassword
        ? ({ mechanism: config.kafkaSaslMechanism, username: config.kafkaSaslUsername, password: config.kafkaSaslPassword } as KafkaOptions['sasl'])
        : undefined,
  };
}
