import pg from 'pg';
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { redactUrl } from '../../log.js';
import { InvalidInboxArgumentError } from '../../inbox/errors.js';
import { pruneProcessedMessages } from '../../inbox/prune.js';
import { validateConsumer } from '../../inbox/processOnce.js';
import { parseDuration } from '../../duration.js';
import { addConfigOptions, configFromCommand, loggerFor, CONNECTION_KEYS } from '../options.js';

export function registerInbox(program: Command): void {
  const inbox = program.command('inbox').description('maintain the consumer-side inbox (processed_messages)');
  const prune = inbox
    .command('prune')
    .description('delete processed_messages rows older than --older-than, in batches of 1000')
    .requiredOption('--older-than <duration>', 'age of the rows to delete, e.g. 90m, 2h, 30d; keep it longer than any redelivery or replay window')
    .option('--consumer <name>', "only this consumer's rows (default: every consumer)")
    .exitOverride();
  addConfigOptions(prune, CONNECTION_KEYS).action(async () => {
    const opts = prune.opts<{ olderThan: string; consumer?: string }>();
    const olderThanMs = parseDuration(opts.olderThan, '--older-than');
    const consumer = opts.consumer === undefined ? undefined : consumerOption(opts.consumer);
    const config = configFromCommand(prune, ['databaseUrl']);
    const logger = loggerFor(config);
    const client = new pg.Client({ connectionString: config.databaseUrl, application_name: 'outbox-relay inbox prune' });
    logger.debug({ database: redactUrl(config.databaseUrl) }, 'connecting');
    await client.connect();
    try {
      const deleted = await pruneProcessedMessages(client, { olderThanMs, consumer, schema: config.schema });
      logger.info({ schema: config.schema, consumer, olderThanMs, deleted }, 'pruned processed messages');
    } finally {
      await client.end();
    }
  });
}

function consumerOption(raw: string): string {
  try {
    return validateConsumer(raw);
  } catch (err) {
    if (err instanceof InvalidInboxArgumentError) throw new ConfigError('--consumer', 'must be a non-empty name of at most 200 characters');
    throw err;
  }
}
