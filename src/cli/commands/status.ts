import pg from 'pg';
import { Option, type Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { exceededThresholds, getStatus, type OutboxStatus } from '../../ops/status.js';
import { formatDuration, parseDuration } from '../../duration.js';
import { addConfigOptions, configFromCommand, CONNECTION_KEYS } from '../options.js';

/** Exit code when a --max-lag / --max-backlog threshold is exceeded (0 ok, 1 failure, 2 bad arguments). */
export const EXIT_THRESHOLD_EXCEEDED = 3;

export function registerStatus(program: Command): void {
  const command = program
    .command('status')
    .description(`backlog, lag, throughput and dead events, per topic; exits ${EXIT_THRESHOLD_EXCEEDED} when a threshold is exceeded`)
    .addOption(new Option('--json', 'print JSON (numbers in ms and counts) instead of a table'))
    .addOption(new Option('--max-lag <duration>', `exit ${EXIT_THRESHOLD_EXCEEDED} when the oldest unpublished event is older, e.g. 5m`))
    .addOption(new Option('--max-backlog <n>', `exit ${EXIT_THRESHOLD_EXCEEDED} when more events are unpublished`));
  addConfigOptions(command, CONNECTION_KEYS).action(async () => {
    const opts = command.opts<{ json?: boolean; maxLag?: string; maxBacklog?: string }>();
    const thresholds = {
      maxLagMs: opts.maxLag === undefined ? undefined : parseDuration(opts.maxLag, '--max-lag'),
      maxBacklog: opts.maxBacklog === undefined ? undefined : nonNegativeInteger(opts.maxBacklog, '--max-backlog'),
    };
    const config = configFromCommand(command, ['databaseUrl']);
    const client = new pg.Client({ connectionString: config.databaseUrl, application_name: 'outbox-relay status' });
    await client.connect();
    let status: OutboxStatus;
    try {
      status = await getStatus(client, { schema: config.schema });
    } finally {
      await client.end();
    }
    const exceeded = exceededThresholds(status, thresholds);
    process.stdout.write(opts.json ? `${JSON.stringify({ schema: config.schema, ...status, exceeded })}\n` : renderStatus(status, config.schema));
    if (exceeded.length > 0) {
      for (const problem of exceeded) process.stderr.write(`outbox-relay status: ${problem}\n`);
      process.exitCode = EXIT_THRESHOLD_EXCEEDED;
    }
  });
}

export function nonNegativeInteger(raw: string, option: string): number {
  if (!/^\d{1,15}$/.test(raw.trim())) throw new ConfigError(option, `must be a whole number ≥ 0, got ${JSON.stringify(raw)}`);
  return Number(raw.trim());
}

/** The human view: totals, then one line per topic. Counts are exact integers; ages are rounded down. */
export function renderStatus(s: OutboxStatus, schema: string): string {
  const age = (ms: number | null) => (ms === null ? '-' : formatDuration(ms));
  const summary = [
    `outbox ${schema} at ${s.at.toISOString()}`,
    `backlog     ${s.backlog} events, oldest ${age(s.lagMs)}`,
    `published   ${s.publishedLastMinute} last minute, ${s.publishedLastHour} last hour`,
    `dead        ${s.dead} (discarded ${s.discarded})`,
  ];
  if (s.topics.length === 0) return `${summary.join('\n')}\n`;
  const table = formatTable(
    ['TOPIC', 'BACKLOG', 'OLDEST', 'LAST MIN', 'LAST HOUR', 'DEAD', 'DISCARDED'],
    s.topics.map((t) => [t.topic, t.backlog, age(t.lagMs), t.publishedLastMinute, t.publishedLastHour, t.dead, t.discarded]),
  );
  return `${summary.join('\n')}\n\n${table}`;
}

/** Left-aligned text, right-aligned numbers, two spaces between columns. */
export function formatTable(headers: string[], rows: (string | number | null)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const line = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}
