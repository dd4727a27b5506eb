import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { pino, type LevelWithSilent } from 'pino';
import { ConfigError } from '../../errors.js';
import { createLogger, redactUrl, type Logger } from '../../log.js';
import { isUuid, isValidTopicName } from '../../outbox/event.js';
import { replay, ReplayFailedError, type ReplayOptions, type ReplayProgress, type ReplayResult, type ReplayStart, type ReplayWindowInfo } from '../../ops/replay.js';
import { formatDuration, parseTimeOrDuration } from '../../duration.js';
import { addConfigOptions, configFromCommand, kafkaOptionsFrom, CONNECTION_KEYS, KAFKA_KEYS } from '../options.js';
import { formatTable } from './status.js';

/** Exit code of a replay stopped by SIGINT/SIGTERM (128 + SIGINT), after printing how to resume. */
export const EXIT_INTERRUPTED = 130;

export function registerReplay(program: Command): void {
  const command = program
    .command('replay')
    .description('republish already-published events of a time window (by created_at), in seq order, with header outbox-replay: true')
    .addOption(new Option('--since <time>', 'window start (inclusive, created_at): ISO-8601 with zone, or a duration ago like 90m, 2h, 7d').makeOptionMandatory())
    .addOption(new Option('--until <time>', 'window end (exclusive, created_at); default: when the replay starts'))
    .addOption(new Option('--topic <topic...>', 'only events of these topics'))
    .addOption(new Option('--type <type...>', 'only events of these types'))
    .addOption(new Option('--key <key...>', 'only events with these Kafka keys (the event ID when written without a key)'))
    .addOption(new Option('--aggregate-id <id...>', 'only events of these aggregates'))
    .addOption(new Option('--id <uuid...>', 'only these events'))
    .addOption(new Option('--to-topic <topic>', 'publish to this topic instead of each event\'s own'))
    .addOption(new Option('--after-seq <seq>', 'resume point: only events with a larger seq (printed when a replay is interrupted)'))
    .addOption(new Option('--rate <events/s>', 'at most this many events per second'))
    .addOption(new Option('--dry-run', 'count the window and show its first events; publish nothing'))
    .addOption(new Option('--json', 'print the result as JSON (the default when stdout is not a terminal)'));
  addConfigOptions(command, [...CONNECTION_KEYS, ...KAFKA_KEYS, 'batchSize']).action(async () => {
    const args = parseReplayArgs(command.opts(), new Date());
    const config = configFromCommand(command, args.dryRun ? ['databaseUrl'] : ['databaseUrl', 'kafkaBrokers']);
    const progress = createProgressReporter(chooseProgressRenderer(process.stderr));
    const abort = new AbortController();
    let lastProgress: ReplayProgress | undefined;
    let window: ReplayWindowInfo | undefined;
    const resume = () => resumeCommand(process.argv.slice(2), window!, lastProgress?.lastSeq ?? window!.afterSeq);
    // First signal: finish the batch in flight, then print how to resume. Second: leave now, resuming from the last
    // acknowledged batch (the one in flight may then be sent twice; consumers de-duplicate on the event ID).
    const onSignal = () => {
      if (!abort.signal.aborted) return abort.abort();
      progress.stop();
      if (window) progress.notice('interrupted', 'stopped at once', { lastSeq: lastProgress?.lastSeq ?? null, resumeCommand: resume() });
      process.exit(EXIT_INTERRUPTED);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let result: ReplayResult;
    try {
      result = await replay({
        ...args,
        databaseUrl: config.databaseUrl,
        kafka: kafkaOptionsFrom(config),
        publishTimeoutMs: config.publishTimeoutMs,
        schema: config.schema,
        batchSize: config.batchSize,
        signal: abort.signal,
        logger: stderrLogger(config.logLevel),
        onStart: (start) => {
          window = start.window;
          progress.start(start, args.dryRun);
        },
        onProgress: (p) => progress.update((lastProgress = p)),
      });
    } catch (err) {
      progress.stop();
      if (err instanceof ReplayFailedError) {
        lastProgress = { lastSeq: err.lastSeq } as ReplayProgress;
        progress.notice('failed', `${err.published} events were published before the failure`, { published: err.published, lastSeq: err.lastSeq, resumeCommand: resume() });
      }
      throw err;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    progress.stop();
    const resumeWith = result.completed ? undefined : resume();
    if (resumeWith) {
      progress.notice('interrupted', `interrupted after ${result.published} of ${result.total} events`, { published: result.published, total: result.total, lastSeq: result.lastSeq, resumeCommand: resumeWith });
    }
    process.stdout.write(args.json || !process.stdout.isTTY ? `${JSON.stringify({ ...result, resumeCommand: resumeWith })}\n` : renderResult(result));
    // replay() has closed its pool and producer by now, so the process exits on its own once stdout is flushed.
    if (resumeWith) process.exitCode = EXIT_INTERRUPTED;
  });
}

/** The replay options the flags set, plus how to print. */
type ReplayArgs = Pick<
  ReplayOptions,
  'since' | 'until' | 'topics' | 'types' | 'keys' | 'aggregateIds' | 'ids' | 'toTopic' | 'afterSeq' | 'ratePerSecond'
> & { dryRun: boolean; json: boolean };

/** Flags → library options, every problem a ConfigError naming the flag (exit 2) before anything is contacted. */
export function parseReplayArgs(o: Record<string, unknown>, now: Date): ReplayArgs {
  const since = parseTimeOrDuration(o.since, '--since', now);
  const until = o.until === undefined ? undefined : parseTimeOrDuration(o.until, '--until', now);
  if (until && until.getTime() <= since.getTime()) {
    throw new ConfigError('--until', `must be later than --since (${since.toISOString()}), got ${until.toISOString()}`);
  }
  const topics = o.topic as string[] | undefined;
  for (const t of topics ?? []) if (!isValidTopicName(t)) throw new ConfigError('--topic', `has an invalid Kafka topic name ${JSON.stringify(t)}`);
  const toTopic = o.toTopic as string | undefined;
  if (toTopic !== undefined && !isValidTopicName(toTopic)) throw new ConfigError('--to-topic', `is not a valid Kafka topic name: ${JSON.stringify(toTopic)}`);
  const ids = (o.id as string[] | undefined)?.map((id) => id.toLowerCase());
  for (const id of ids ?? []) if (!isUuid(id)) throw new ConfigError('--id', `has ${JSON.stringify(id)}, which is not a UUID`);
  const afterSeq = o.afterSeq as string | undefined;
  if (afterSeq !== undefined && !/^\d{1,19}$/.test(afterSeq)) throw new ConfigError('--after-seq', `must be a whole number ≥ 0, got ${JSON.stringify(afterSeq)}`);
  let ratePerSecond: number | undefined;
  if (o.rate !== undefined) {
    ratePerSecond = /^\d+(\.\d+)?$/.test(String(o.rate)) ? Number(o.rate) : NaN;
    if (!(ratePerSecond > 0)) throw new ConfigError('--rate', `must be a positive number of events per second, got ${JSON.stringify(o.rate)}`);
  }
  return {
    since, until, topics, toTopic, ids, afterSeq, ratePerSecond,
    types: o.type as string[] | undefined,
    keys: o.key as string[] | undefined,
    aggregateIds: o.aggregateId as string[] | undefined,
    dryRun: o.dryRun === true,
    json: o.json === true,
  };
}

/**
 * The command that continues an interrupted replay: the same arguments with the window pinned to absolute times
 * (a relative `--since 2h` would have moved) and `--after-seq` set. Secrets given as flags are masked rather than
 * printed; pass them through the environment (DATABASE_URL, KAFKA_SASL_PASSWORD) to get a copy-paste command.
 */
export function resumeCommand(argv: string[], window: ReplayWindowInfo, afterSeq: string): string {
  const pinned = new Set(['--since', '--until', '--after-seq']);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (pinned.has(flag)) {
      if (inline === undefined) i++;
      continue;
    }
    if (flag === '--database-url' || flag === '--kafka-sasl-password') {
      const value = inline ?? argv[++i] ?? '';
      out.push(flag, flag === '--database-url' ? redactUrl(value) : '***');
      continue;
    }
    out.push(arg);
  }
  out.push('--since', window.since.toISOString(), '--until', window.until.toISOString(), '--after-seq', afterSeq);
  return ['outbox-relay', ...out].map(shellQuote).join(' ');
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A progress bar for a person at a terminal; JSON lines for a log collector or a script. */
export function chooseProgressRenderer(stream: { isTTY?: boolean }): 'bar' | 'json' {
  return stream.isTTY === true ? 'bar' : 'json';
}

interface ProgressReporter {
  start(start: ReplayStart, dryRun: boolean): void;
  update(p: ReplayProgress): void;
  stop(): void;
  /** Interrupted or failed: a JSON line, or a sentence and the resume command on its own line for a person. */
  notice(event: 'interrupted' | 'failed', message: string, data: { resumeCommand: string } & Record<string, unknown>): void;
}

/** JSON lines are throttled to one a second (plus the last), enough for a log without flooding it. */
function createProgressReporter(kind: 'bar' | 'json', now: () => number = Date.now): ProgressReporter {
  const json = (obj: object) => process.stderr.write(`${JSON.stringify(obj)}\n`);
  let bar: cliProgress.SingleBar | undefined;
  let lastLine = 0;
  let pending: ReplayProgress | undefined;
  return {
    start(start, dryRun) {
      const gap = start.retentionGap;
      const warning = gap && `the window may reach past retention: seq ${gap.fromSeq}…${BigInt(gap.toSeq) - 1n} (${gap.missingSeqs} events) no longer exist (pruned, or rolled back)${gap.oldestPublishedAt ? `; events of the window created before ${gap.oldestPublishedAt.toISOString()} may be missing from this replay` : ''}`;
      if (kind === 'json') {
        json({ event: 'start', total: start.total, ...start.window });
        if (warning) json({ event: 'warning', message: warning, retentionGap: gap });
        return;
      }
      if (warning) process.stderr.write(`warning: ${warning}\n`);
      if (dryRun || start.total === 0) return;
      bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: 'replay [{bar}] {value}/{total} events | {rate} ev/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(start.total, 0, { rate: '0' });
    },
    update(p) {
      if (bar) return bar.update(p.done, { rate: p.ratePerSecond.toFixed(0) });
      pending = p;
      if (now() - lastLine >= 1_000) flush();
    },
    stop() {
      bar?.stop();
      bar = undefined;
      flush();
    },
    notice(event, message, data) {
      if (kind === 'json') return json({ event, message, ...data });
      process.stderr.write(`outbox-relay replay: ${message}; resume with:\n  ${data.resumeCommand}\n`);
    },
  };
  function flush() {
    if (!pending) return;
    const p = pending;
    pending = undefined;
    lastLine = now();
    json({ event: 'progress', done: p.done, total: p.total, lastSeq: p.lastSeq, ratePerSecond: Math.round(p.ratePerSecond * 10) / 10, etaSeconds: p.etaMs === null ? null : Math.ceil(p.etaMs / 1_000) });
  }
}

function renderResult(r: ReplayResult): string {
  const span = `created from ${r.window.since.toISOString()} to ${r.window.until.toISOString()}${r.window.afterSeq === '0' ? '' : ` after seq ${r.window.afterSeq}`}`;
  if (!r.dryRun) return `replayed ${r.published} of ${r.total} events ${span} in ${formatDuration(r.elapsedMs)}\n`;
  const sample = r.sample.length === 0 ? '' : `\n${formatTable(['SEQ', 'ID', 'TOPIC', 'KEY', 'TYPE', 'CREATED'], r.sample.map((e) => [e.seq, e.id, e.topic, e.key, e.type, e.createdAt.toISOString()]))}`;
  return `dry run: would replay ${r.total} events ${span}${r.sample.length < r.total ? `; the first ${r.sample.length}:` : ''}\n${sample}`;
}

/**
 * stdout carries the result, so the replay's own log lines go to stderr. The default info level is raised to
 * error: kafkajs warns about things it retries by itself (a topic being created, a leader moving), which would tear
 * the progress bar, and a send that really fails ends the replay with an error anyway. --log-level warn/debug
 * shows them.
 */
function stderrLogger(level: string): Logger {
  return createLogger({ level: (level === 'info' ? 'error' : level) as LevelWithSilent, destination: pino.destination({ fd: 2, sync: true }) });
}
