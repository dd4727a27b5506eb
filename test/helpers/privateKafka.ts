import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

/**
 * A Kafka broker of the test's own (KRaft, combined broker + controller), for tests that stop, kill or restart Kafka:
 * the shared broker at 127.0.0.1:9092 serves every other test file and must never go down. It runs the jars that
 * `scripts/services.sh up` fetched into .kafka/lib-<version>/, on its own ports and a temporary data directory.
 */
export interface PrivateKafkaOptions {
  /** Broker listener port; pick one per test file (e.g. 19092, 19192, …) so files running in parallel never clash. */
  port: number;
  /** KRaft controller port. Default port + 1. */
  controllerPort?: number;
  /** Which .kafka/lib-<version> to run. Default $KAFKA_VERSION, else the newest complete one. */
  version?: string;
  /** Deadline for the broker to answer a metadata request after a start. Default 90 s (~8 s on a 2-core machine). */
  startTimeoutMs?: number;
}

export interface PrivateKafka {
  /** `['127.0.0.1:<port>']`, for KafkaOptions.brokers. */
  readonly brokers: string[];
  /** Data and log directory (`kafka.log` holds the broker's output). */
  readonly dir: string;
  readonly running: boolean;
  /** Starts the broker again on the same data (after stop or kill); resolves when it answers. */
  start(): Promise<void>;
  /** Controlled shutdown (SIGTERM), as an operator's restart would do; resolves when the process exited. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; resolves when the process exited. */
  kill(): Promise<void>;
  /** Kills the broker if running and deletes its directory. */
  destroy(): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KAFKA_HOME = join(REPO_ROOT, '.kafka');
const HOST = '127.0.0.1';

export async function startPrivateKafka(options: PrivateKafkaOptions): Promise<PrivateKafka> {
  const port = options.port;
  const controllerPort = options.controllerPort ?? port + 1;
  const lib = libDir(options.version ?? process.env.KAFKA_VERSION);
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  const dir = await mkdtemp(join(tmpdir(), `outbox-kafka-${port}-`));
  const props = join(dir, 'server.properties');
  const logConfig = await writeConfig(dir, props, port, controllerPort, lib);
  await promisify(execFile)('java', [...logConfig.jvmFlag, '-cp', `${lib}/*`, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', props], {
    timeout: 60_000,
  });

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  // A crashed test worker must not leave a JVM behind holding the ports.
  const killOnExit = () => child?.kill('SIGKILL');
  process.on('exit', killOnExit);

  const broker: PrivateKafka = {
    brokers: [`${HOST}:${port}`],
    dir,
    get running() {
      return child !== undefined;
    },
    async start() {
      if (child) return;
      for (const p of [port, controllerPort]) {
        if (await portOpen(p)) throw new Error(`port ${p} is already in use: is another private Kafka (or a leftover JVM) running?`);
      }
      const out = openSync(join(dir, 'kafka.log'), 'a');
      const proc = spawn(
        'java',
        ['-Xms128m', '-Xmx512m', '-XX:+UseG1GC', '-Djava.awt.headless=true', ...logConfig.jvmFlag, '-cp', `${lib}/*`, 'kafka.Kafka', props],
        { stdio: ['ignore', out, out] },
      );
      closeSync(out);
      child = proc;
      exited = new Promise((resolve) =>
        proc.once('exit', () => {
          if (child === proc) child = undefined;
          resolve();
        }),
      );
      try {
        await waitUntilAnswers(broker.brokers, startTimeoutMs, () => child === proc);
      } catch (err) {
        await broker.kill();
        throw new Error(`${(err as Error).message}\n--- last lines of ${dir}/kafka.log ---\n${tail(join(dir, 'kafka.log'), 30)}`);
      }
    },
    async stop() {
      child?.kill('SIGTERM');
      await exited;
    },
    async kill() {
      child?.kill('SIGKILL');
      await exited;
    },
    async destroy() {
      await broker.kill();
      process.off('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}

function libDir(version: string | undefined): string {
  if (version) {
    const lib = join(KAFKA_HOME, `lib-${version}`);
    if (!existsSync(join(lib, '.complete'))) throw new Error(`${lib} is missing: run \`KAFKA_VERSION=${version} npm run services -- up\` once`);
    return lib;
  }
  const versions = existsSync(KAFKA_HOME)
    ? readdirSync(KAFKA_HOME).filter((d) => d.startsWith('lib-') && existsSync(join(KAFKA_HOME, d, '.complete')))
    : [];
  const newest = versions.map((d) => d.slice(4)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop();
  if (!newest) throw new Error('no Kafka jars in .kafka/: run `npm run services -- up` once to fetch them');
  return join(KAFKA_HOME, `lib-${newest}`);
}

async function writeConfig(dir: string, props: string, port: number, controllerPort: number, lib: string): Promise<{ jvmFlag: string[] }> {
  await writeFile(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@${HOST}:${controllerPort}`,
      `listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://${HOST}:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      // One node: every internal topic and ISR requirement must fit on it.
      'num.partitions=1',
      'default.replication.factor=1',
      'auto.create.topics.enable=true',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=2',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.num.partitions=2',
      'transaction.state.log.min.isr=1',
      'min.insync.replicas=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      // Small footprint: this JVM shares 2 cores with the shared broker, PostgreSQL and the tests.
      'num.network.threads=1',
      'num.io.threads=2',
      'num.recovery.threads.per.data.dir=1',
      '',
    ].join('\n'),
  );
  // Kafka 4.x logs through Log4j 2, 3.x through reload4j (log4j 1): WARN and up, to kafka.log.
  if (readdirSync(lib).some((jar) => jar.startsWith('log4j-core-'))) {
    const file = join(dir, 'log4j2.properties');
    await writeFile(
      file,
      'status = warn\nappender.out.type = Console\nappender.out.name = OUT\nappender.out.layout.type = PatternLayout\n' +
        'appender.out.layout.pattern = [%d] %p %m (%c)%n\nrootLogger.level = WARN\nrootLogger.appenderRef.out.ref = OUT\n',
    );
    return { jvmFlag: [`-Dlog4j2.configurationFile=${file}`] };
  }
  const file = join(dir, 'log4j.properties');
  await writeFile(
    file,
    'log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\n' +
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n',
  );
  return { jvmFlag: [`-Dlog4j.configuration=file:${file}`] };
}

/** Kafka's Uuid text form: 16 random bytes, base64url, never starting with '-' (Uuid.randomUuid rejects those). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port, timeout: 1_000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/** Ready = a metadata request succeeds (the broker has registered with its controller), not just an open port. */
async function waitUntilAnswers(brokers: string[], timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({ clientId: 'private-kafka-wait', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1_000, retry: { retries: 0 } });
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`private Kafka on ${brokers.join(',')} exited during startup`);
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      const { brokers: nodes } = await admin.describeCluster();
      if (nodes.length > 0) return;
    } catch (err) {
      lastError = err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`private Kafka on ${brokers.join(',')} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
