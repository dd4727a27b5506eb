import type { Registry } from 'prom-client';
import { pendingStats, type PendingStats } from '../db/pendingStats.js';
import { DEFAULT_SCHEMA, quoteSchema } from '../db/identifiers.js';
import { coerceError } from '../errors.js';
import type { KafkaOptions } from '../kafka/producer.js';
import { silentLogger, type Logger } from '../log.js';
import type { RelayObserver } from '../relay/relay.js';
import { createReadiness, Liveness, livenessWindowMs, type LivenessStatus, type ReadinessReport } from './health.js';
import { createRelayMetrics, type RelayMetrics } from './metrics.js';
import { checkPostgres, createProbePool, KafkaProbe } from './probes.js';
import { startObservabilityServer, type ObservabilityServer } from './server.js';
import { SummaryWindow } from './summary.js';

export interface ObservabilityOptions {
  /** The relay's database (the module opens its own single connection to it). */
  databaseUrl: string;
  /** The relay's brokers (the module opens its own admin connection). */
  kafka: KafkaOptions;
  schema?: string;
  logger?: Logger;
  /** The relay's poll interval and publish timeout, to size the liveness window (see livenessWindowMs). */
  pollIntervalMs?: number;
  publishTimeoutMs?: number;
  /** Overrides the computed liveness window. */
  livenessWindowMs?: number;
  /** Backlog and reachability sampling. Default 5,000 ms: ≈ 20 ms of index scan per sample at worst (pendingStats). */
  sampleIntervalMs?: number;
  /** Info-level summary line (rate, backlog). Default 60,000 ms; 0 = none. */
  summaryIntervalMs?: number;
  /** See ReadinessOptions: default 750 ms timeout, 1,000 ms cache. */
  readinessTimeoutMs?: number;
  readinessCacheMs?: number;
  /** Backlog counting stops here (the gauge then means "at least"). Default 100,000. */
  backlogCountLimit?: number;
  /** Default: a new Registry per instance. */
  registry?: Registry;
  /** Node process metrics. Default true. */
  processMetrics?: boolean;
}

export interface Observability {
  /** Pass to `createRelay({ observer })`. */
  readonly observer: RelayObserver;
  readonly metrics: RelayMetrics;
  readonly registry: Registry;
  /** Starts the backlog sampler and the summary timer. */
  start(): void;
  /** Serves /metrics, /healthz, /readyz. */
  listen(options: { port: number; host: string }): Promise<ObservabilityServer>;
  health(): LivenessStatus;
  readiness(): Promise<ReadinessReport>;
  /** One backlog sample now (the sampler calls this); undefined when PostgreSQL could not answer. */
  sample(): Promise<PendingStats | undefined>;
  /** Stops timers, closes the server and the module's connections. Safe to call twice. */
  stop(): Promise<void>;
}

/** Metrics + health + summary log for one relay, from its observer hooks and the module's own probes. */
export function createObservability(options: ObservabilityOptions): Observability {
  const logger = (options.logger ?? silentLogger()).child({ component: 'observe' });
  const schema = options.schema ?? DEFAULT_SCHEMA;
  quoteSchema(schema);
  const timeoutMs = options.readinessTimeoutMs ?? 750;
  const sampleIntervalMs = options.sampleIntervalMs ?? 5_000;
  const summaryIntervalMs = options.summaryIntervalMs ?? 60_000;
  const metrics = createRelayMetrics({ registry: options.registry, processMetrics: options.processMetrics });
  const liveness = new Liveness(options.livenessWindowMs ?? livenessWindowMs(options.pollIntervalMs ?? 500, options.publishTimeoutMs ?? 10_000));
  const summary = new SummaryWindow();
  const pool = createProbePool(options.databaseUrl, timeoutMs, logger);
  const kafkaProbe = new KafkaProbe({ ...options.kafka, timeoutMs, logger });
  const readiness = createReadiness({
    checks: { postgres: () => checkPostgres(pool), kafka: () => kafkaProbe.check() },
    timeoutMs,
    cacheMs: options.readinessCacheMs,
    onReport: (report) => {
      metrics.setConnected('postgres', report.checks.postgres?.ok === true);
      metrics.setConnected('kafka', report.checks.kafka?.ok === true);
    },
  });

  let latest: PendingStats | undefined;
  let sampleFailures = 0;
  let server: ObservabilityServer | undefined;
  let sampleTimer: NodeJS.Timeout | undefined;
  let summaryTimer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> | undefined;
  let stopped = false;

  // The relay calls hooks synchronously inside its loop: a bug here must cost a metric, never the loop.
  const guarded = (hook: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      logger.warn({ err: coerceError(err), hook }, 'observer hook failed');
    }
  };

  const sample = async (): Promise<PendingStats | undefined> => {
    try {
      latest = await pendingStats(pool, schema, options.backlogCountLimit);
      metrics.setPending(latest);
      if (sampleFailures > 0) logger.info({ afterFailures: sampleFailures }, 'backlog sampling recovered');
      sampleFailures = 0;
    } catch (err) {
      latest = undefined;
      // Warn once per streak: while PostgreSQL is down the relay itself already warns on every failed batch.
      logger[sampleFailures++ === 0 ? 'warn' : 'debug']({ err: coerceError(err) }, 'cannot sample the outbox backlog');
    }
    return latest;
  };

  const tick = () => {
    inFlight = Promise.all([sample(), readiness.check()]).finally(() => {
      inFlight = undefined;
      if (!stopped) sampleTimer = setTimeout(tick, sampleIntervalMs).unref();
    });
  };

  return {
    metrics,
    registry: metrics.registry,
    observer: {
      onBatch: (result, details) =>
        guarded('onBatch', () => {
          liveness.beat();
          metrics.observeBatch(result, details);
          summary.recordBatch(result);
        }),
      onBatchError: () =>
        guarded('onBatchError', () => {
          liveness.beat();
          metrics.observeBatchError();
          summary.recordBatchError();
        }),
    },
    start() {
      if (stopped || sampleTimer || inFlight) return;
      tick();
      if (summaryIntervalMs > 0) {
        summaryTimer = setInterval(() => logger.info(summary.take(latest), 'relay summary'), summaryIntervalMs).unref();
      }
    },
    async listen({ port, host }) {
      server = await startObservabilityServer(
        {
          metrics: async () => ({ status: 200, contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
          healthz: () => {
            const status = liveness.status();
            return json(status.alive ? 200 : 503, { status: status.alive ? 'ok' : 'stalled', ...status });
          },
          readyz: async () => {
            const report = await readiness.check();
            return json(report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'unready', checks: report.checks });
          },
        },
        { port, host, onError: (err) => logger.warn({ err }, 'observability request failed') },
      );
      logger.info({ url: server.url, endpoints: ['/metrics', '/healthz', '/readyz'] }, 'observability server listening');
      return server;
    },
    health: () => liveness.status(),
    readiness: () => readiness.check(),
    sample,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(sampleTimer);
      clearInterval(summaryTimer);
      metrics.setUp(false);
      await inFlight?.catch(() => undefined);
      await server?.close();
      await Promise.all([kafkaProbe.close(), pool.end().catch(() => undefined)]);
    },
  };
}

function json(status: number, body: unknown) {
  return { status, contentType: 'application/json', body: `${JSON.stringify(body)}\n` };
}
