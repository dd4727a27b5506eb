import { Command, CommanderError } from 'commander';
import { ConfigError, OutboxError, coerceError } from '../errors.js';
import { registerMigrate } from './commands/migrate.js';
import { registerRun } from './commands/run.js';
import { registerInbox } from './commands/inbox.js';
import { registerReplay } from './commands/replay.js';
import { registerStatus } from './commands/status.js';
import { registerPrune } from './commands/prune.js';
import { registerDead } from './commands/dead.js';

/**
 * Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or arguments (naming the option); a command that finished
 * with an outcome rather than a failure sets `process.exitCode` (3 = status threshold exceeded, 130 = interrupted) and
 * returns, so its output is flushed by a natural exit instead of cut short by process.exit().
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('outbox-relay')
    .description('Transactional outbox relay: PostgreSQL → Kafka, at least once, de-duplicable by event ID')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  registerMigrate(program);
  registerRun(program);
  registerInbox(program);
  registerReplay(program);
  registerStatus(program);
  registerPrune(program);
  registerDead(program);
  for (const command of program.commands) command.exitOverride();

  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      return thrown.exitCode === 0 ? 0 : 2; // help/version print and exit 0; usage errors were already printed
    }
    const err = coerceError(thrown);
    if (err instanceof ConfigError) {
      process.stderr.write(`outbox-relay: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`outbox-relay: ${err instanceof OutboxError ? err.message : String(err.stack ?? err)}\n`);
    return 1;
  }
}
