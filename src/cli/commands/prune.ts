import pg from 'pg';
import { Option, type Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { prune } from '../../ops/prune.js';
import { parseDuration } from '../../duration.js';
import { addConfigOptions, configFromCommand, CONNECTION_KEYS } from '../options.js';
import { nonNegativeInteger } from './status.js';

export function registerPrune(program: Command): void {
  const command = program
    .command('prune')
    .description('delete events published longer ago than --older-than, in small batches (pending and dead events are never deleted)')
    .addOption(new Option('--older-than <duration>', 'age by published_at, e.g. 7d, 36h').makeOptionMandatory())
    .addOption(new Option('--batch-size <n>', 'rows per DELETE statement (default 1000)'))
    .addOption(new Option('--dry-run', 'count what would be deleted, delete nothing'))
    .addOption(new Option('--json', 'print the result as JSON'));
  addConfigOptions(command, CONNECTION_KEYS).action(async () => {
    const opts = command.opts<{ olderThan: string; batchSize?: string; dryRun?: boolean; json?: boolean }>();
    const olderThanMs = parseDuration(opts.olderThan, '--older-than');
    // 0 would delete every published event at once, replay history included: almost surely a typo for 0 retention.
    if (olderThanMs === 0) throw new ConfigError('--older-than', 'must be longer than 0 (e.g. 7d)');
    const batchSize = opts.batchSize === undefined ? undefined : nonNegativeInteger(opts.batchSize, '--batch-size');
    if (batchSize === 0 || (batchSize ?? 0) > 10_000) throw new ConfigError('--batch-size', 'must be from 1 to 10000');
    const config = configFromCommand(command, ['databaseUrl']);

    const client = new pg.Client({ connectionString: config.databaseUrl, application_name: 'outbox-relay prune' });
    await client.connect();
    // Ctrl-C stops after the DELETE in flight; every batch before it is committed.
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const result = await prune(client, { schema: config.schema, olderThanMs, batchSize, dryRun: opts.dryRun, signal: abort.signal });
      const out = { schema: config.schema, olderThanMs, ...result, interrupted: abort.signal.aborted, elapsedMs: Math.round(result.elapsedMs) };
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(out)}\n`
          : `${result.dryRun ? 'would delete' : 'deleted'} ${result.deleted} events published more than ${opts.olderThan} ago` +
              `${result.dryRun ? '' : ` in ${result.batches} batches, ${out.elapsedMs} ms`}${out.interrupted ? ' (interrupted)' : ''}\n`,
      );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await client.end();
    }
    // 128 + SIGINT, as a shell reports an interrupted command; every batch before the signal stays deleted.
    if (abort.signal.aborted) process.exitCode = 130;
  });
}
