import type { Command } from 'commander';
import { createRelay } from '../../relay/relay.js';
import { createObservability } from '../../observe/observability.js';
import { ConfigError, coerceError } from '../../errors.js';
import { redactUrl } from '../../log.js';
import { addConfigOptions, configFromCommand, kafkaOptionsFrom, loggerFor, CONNECTION_KEYS, KAFKA_KEYS, RELAY_KEYS, OBSERVE_KEYS } from '../options.js';

export function registerRun(program: Command): void {
  const command = program.command('run').description('relay committed outbox events to Kafka until SIGTERM/SIGINT');
  addConfigOptions(command, [...CONNECTION_KEYS, ...KAFKA_KEYS, ...RELAY_KEYS, ...OBSERVE_KEYS]).action(async () => {
    const config = configFromCommand(command, ['databaseUrl', 'kafkaBrokers']);
    const logger = loggerFor(config);
    logger.info({ database: redactUrl(config.databaseUrl), kafkaBrokers: config.kafkaBrokers }, 'configuration loaded');
    const observability = createObservability({
      databaseUrl: config.databaseUrl,
      kafka: kafkaOptionsFrom(config),
      schema: config.schema,
      pollIntervalMs: config.pollIntervalMs,
      publishTimeoutMs: config.publishTimeoutMs,
      logger,
    });
    const relay = createRelay({
      databaseUrl: config.databaseUrl,
      kafka: kafkaOptionsFrom(config),
      schema: config.schema,
      batchSize: config.batchSize,
      pollIntervalMs: config.pollIntervalMs,
      listen: !config.pollOnly,
      publishTimeoutMs: config.publishTimeoutMs,
      maxAttempts: config.maxAttempts,
      retentionMs: config.retentionMs,
      logger,
      observer: observability.observer,
    });

    // First signal: finish the batch in flight, commit, disconnect, exit 0 — or exit 1 when the deadline passes.
    // Second signal: exit at once; the uncommitted batch is simply claimed again by the next relay.
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      logger.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'stopping after the batch in flight');
      setTimeout(() => {
        logger.error({ deadlineMs: config.shutdownTimeoutMs }, 'shutdown deadline passed: exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs).unref();
      void relay.stop().then(() => observability.stop()).then(() => process.exit(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);

    if (config.metricsPort > 0) {
      await observability.listen({ port: config.metricsPort, host: config.metricsHost }).catch(async (err: unknown) => {
        await observability.stop();
        throw new ConfigError('--metrics-port / OUTBOX_METRICS_PORT', `cannot listen on ${config.metricsHost}:${config.metricsPort}: ${coerceError(err).message}`);
      });
    }
    observability.start();
    await relay.start();
    await relay.finished.catch((err: unknown) => {
      logger.fatal({ err }, 'relay crashed on an internal error; exiting so a supervisor restarts it');
      process.exit(1);
    });
  });
}
