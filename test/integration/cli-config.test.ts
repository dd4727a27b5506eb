import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { databaseUrl } from '../helpers/db.js';
import { kafkaBrokers } from '../helpers/kafka.js';
import { runCli } from '../helpers/relayProcess.js';

const good = () => ({ DATABASE_URL: databaseUrl(), KAFKA_BROKERS: kafkaBrokers().join(',') });
const badFile = () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'outbox-cli-')), 'bad.json');
  writeFileSync(file, '{"batchSize": "many"}');
  return file;
};

describe('CLI configuration errors exit 2 naming the option', () => {
  it.each([
    ['negative batch size flag', ['run', '--batch-size', '-5'], {}, /--batch-size/],
    ['batch size from the environment', ['run'], { OUTBOX_BATCH_SIZE: 'zero' }, /OUTBOX_BATCH_SIZE/],
    ['a non-postgres database URL', ['run', '--database-url', 'mysql://root@localhost/db'], {}, /--database-url/],
    ['a broker without a port', ['run', '--kafka-brokers', 'localhost'], {}, /--kafka-brokers/],
    ['a missing database URL', ['run'], { DATABASE_URL: '' }, /--database-url \/ DATABASE_URL/],
    ['a schema that is not an identifier', ['migrate', '--schema', 'a-b'], {}, /--schema/],
    ['an unknown option', ['run', '--batchsize', '5'], {}, /unknown option '--batchsize'/],
    ['an unknown command', ['frobnicate'], {}, /unknown command/],
    ['an unreadable config file', ['run', '--config', '/nonexistent/outbox.json'], {}, /--config/],
    ['a retention without a unit', ['run', '--retention', '7'], {}, /--retention must be a duration like 7d/],
    ['a retention from the environment', ['run'], { OUTBOX_RETENTION: 'forever' }, /OUTBOX_RETENTION/],
    ['a bad value in the config file', ['run'], { OUTBOX_CONFIG: '<bad-file>' }, /batchSize \(in /],
  ])('%s', async (_name, args, env, message) => {
    const resolvedEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === '<bad-file>' ? badFile() : v]));
    const result = await runCli(args, { ...good(), ...resolvedEnv });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('never prints the database password', async () => {
    const result = await runCli(['run', '--batch-size', '0'], { ...good(), DATABASE_URL: 'postgres://app:hunter2secret@127.0.0.1:5432/test' });
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).not.toContain('hunter2secret');
  });
});
