import pg from 'pg';
import { Option, type Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { discardDead, listDeadEvents, retryDead } from '../../ops/dead.js';
import { isUuid, isValidTopicName } from '../../outbox/event.js';
import { addConfigOptions, configFromCommand, CONNECTION_KEYS } from '../options.js';
import { formatTable, nonNegativeInteger } from './status.js';

/**
 * `dead list | retry | discard`. retry and discard exit 1 when an ID given is not a dead event (unknown, pending,
 * published), after acting on the others, so a script notices a typo.
 */
export function registerDead(program: Command): void {
  const dead = program.command('dead').description('inspect, retry or discard events Kafka refused for good');

  const list = dead
    .command('list')
    .description('list dead events, oldest first')
    .addOption(new Option('--topic <topic...>', 'only these topics'))
    .addOption(new Option('--limit <n>', 'at most this many (default 100)'))
    .addOption(new Option('--include-discarded', 'also list discarded events, with a DISCARDED AT column'))
    .addOption(new Option('--json', 'one JSON object per line'));
  addConfigOptions(list, CONNECTION_KEYS).action(async () => {
    const opts = list.opts<{ topic?: string[]; limit?: string; includeDiscarded?: boolean; json?: boolean }>();
    const topics = checkTopics(opts.topic);
    const limit = opts.limit === undefined ? 100 : nonNegativeInteger(opts.limit, '--limit');
    if (limit < 1) throw new ConfigError('--limit', 'must be at least 1');
    const rows = await withClient(list, (db, schema) => listDeadEvents(db, { schema, topics, limit, includeDiscarded: opts.includeDiscarded }));
    if (opts.json) {
      process.stdout.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
      return;
    }
    if (rows.length === 0) {
      process.stdout.write('no dead events\n');
      return;
    }
    const oneLine = (s: string | null) => (s === null ? null : s.replace(/\s+/g, ' ').slice(0, 80));
    // DISCARDED AT only when discarded rows can be listed: without --include-discarded it would be all '-'.
    const withDiscarded = opts.includeDiscarded === true;
    process.stdout.write(
      formatTable(
        ['SEQ', 'ID', 'TOPIC', 'TYPE', 'ATTEMPTS', 'DEAD AT', ...(withDiscarded ? ['DISCARDED AT'] : []), 'LAST ERROR'],
        rows.map((r) => [
          r.seq, r.id, r.topic, r.type, r.attempts, r.dead_at.toISOString(),
          ...(withDiscarded ? [r.discarded_at?.toISOString() ?? null] : []),
          oneLine(r.last_error),
        ]),
      ),
    );
  });

  const retry = dead
    .command('retry')
    .description('put dead events back in the queue (attempts reset); by ID also takes a discard back, --all skips discarded ones')
    .argument('[ids...]', 'event IDs')
    .addOption(new Option('--all', 'every dead event not discarded'))
    .addOption(new Option('--topic <topic...>', 'with --all: only these topics'))
    .addOption(new Option('--json', 'print the result as JSON'));
  addConfigOptions(retry, CONNECTION_KEYS).action(async (ids: string[]) => {
    const opts = retry.opts<{ all?: boolean; topic?: string[]; json?: boolean }>();
    if (opts.all && ids.length > 0) throw new ConfigError('--all', 'cannot be combined with event IDs');
    if (!opts.all && ids.length === 0) throw new ConfigError('ids', 'are required (or --all)');
    if (opts.topic && !opts.all) throw new ConfigError('--topic', 'only applies with --all');
    const topics = checkTopics(opts.topic);
    checkIds(ids);
    const result = await withClient(retry, (db, schema) => retryDead(db, opts.all ? { all: true, topics } : { ids }, { schema }));
    report(opts.json, result, `requeued ${result.retried.length} dead events`);
  });

  const discard = dead
    .command('discard')
    .description('mark dead events discarded (discarded_at): kept for the record with their last error, never retried by --all, never pruned')
    .argument('<ids...>', 'event IDs')
    .addOption(new Option('--json', 'print the result as JSON'));
  addConfigOptions(discard, CONNECTION_KEYS).action(async (ids: string[]) => {
    checkIds(ids);
    const opts = discard.opts<{ json?: boolean }>();
    const result = await withClient(discard, (db, schema) => discardDead(db, ids, { schema }));
    report(opts.json, result, `discarded ${result.discarded.length} dead events (${result.alreadyDiscarded.length} already were)`);
  });
}

async function withClient<T>(command: Command, fn: (db: pg.Client, schema: string) => Promise<T>): Promise<T> {
  const config = configFromCommand(command, ['databaseUrl']);
  const client = new pg.Client({ connectionString: config.databaseUrl, application_name: `outbox-relay dead ${command.name()}` });
  await client.connect();
  try {
    return await fn(client, config.schema);
  } finally {
    await client.end();
  }
}

function report(json: boolean | undefined, result: { notDead: string[] }, summary: string): void {
  process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${summary}\n`);
  if (result.notDead.length > 0) {
    process.stderr.write(`outbox-relay dead: not dead events (unknown, pending or published): ${result.notDead.join(' ')}\n`);
    process.exitCode = 1;
  }
}

function checkTopics(topics: string[] | undefined): string[] | undefined {
  for (const t of topics ?? []) if (!isValidTopicName(t)) throw new ConfigError('--topic', `has an invalid Kafka topic name ${JSON.stringify(t)}`);
  return topics;
}

function checkIds(ids: string[]): void {
  for (const id of ids) if (!isUuid(id)) throw new ConfigError('ids', `has ${JSON.stringify(id)}, which is not a UUID`);
}
