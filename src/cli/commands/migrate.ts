import pg from 'pg';
import type { Command } from 'commander';
import { migrate } from '../../migrate.js';
import { redactUrl } from '../../log.js';
import { addConfigOptions, configFromCommand, loggerFor, CONNECTION_KEYS } from '../options.js';

export function registerMigrate(program: Command): void {
  const command = program.command('migrate').description('create or upgrade the outbox tables (safe to run concurrently)');
  addConfigOptions(command, CONNECTION_KEYS).action(async () => {
    const config = configFromCommand(command, ['databaseUrl']);
    const logger = loggerFor(config);
    const client = new pg.Client({ connectionString: config.databaseUrl, application_name: 'outbox-relay migrate' });
    logger.debug({ database: redactUrl(config.databaseUrl) }, 'connecting');
    await client.connect();
    try {
      const result = await migrate(client, { schema: config.schema, logger });
      logger.info({ schema: config.schema, applied: result.applied, alreadyApplied: result.alreadyApplied.length }, 'migrations up to date');
    } finally {
      await client.end();
    }
  });
}
