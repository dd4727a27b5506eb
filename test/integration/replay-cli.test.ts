import { execFileSync, spawn } from 'node:child_process';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeManyWithOutbox } from '../../src/outbox/write.js';
import { createTestSchema, databaseUrl, inTransaction, type TestSchema } from '../helpers/db.js';
import { consumeTopic, createTopic, kafkaBrokers, randomTopic, topicMessageCount } from '../helpers/kafka.js';
import { CLI, runCli, waitFor } from '../helpers/relayProcess.js';

let db: TestSchema;
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => {
  await db.cleanup();
});

const env = () => ({ ...process.env, DATABASE_URL: databaseUrl(), KAFKA_BROKERS: kafkaBrokers().join(',') });

/** `count` events on `topic`, created one minute apart ending a minute ago, all published. IDs in seq order. */
async function seedPublished(topic: string, count: number): Promise<string[]> {
  const ids = await inTransaction(db.pool, (tx) => writeManyWithOutbox(tx, Array.from({ length: count }, (_, i) => ({ topic, payload: { i } })), { schema: db.schema }));
  await db.pool.query(
    `UPDATE ${pg.escapeIdentifier(db.schema)}.outbox_events
     SET created_at = now() - (($1::int - seq + 1) * interval '1 minute'), published_at = now() - (($1::int - seq + 1) * interval '1 minute') + interval '1 second'`,
    [count],
  );
  return ids;
}

/** Splits the printed resume command the way a POSIX shell would (it only ever uses '…' quoting). */
function shellSplit(command: string): string[] {
  const words: string[] = [];
  for (const match of command.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)) words.push(match[1] !== undefined ? match[1].replace(/'\\''/g, "'") : match[2]!);
  return words;
}

describe('replay CLI', () => {
  it('Ctrl-C stops after the batch in flight and prints a command that replays the rest: nothing skipped, nothing twice', async () => {
    const topic = randomTopic('replay-sigint');
    await createTopic(topic, 1);
    const ids = await seedPublished(topic, 40);
    // 10 events/s in batches of 5: the 40 take ~4 s, time enough to interrupt in the middle.
    const child = spawn(process.execPath, [CLI, 'replay', '--schema', db.schema, '--since', '2h', '--rate', '10', '--batch-size', '5'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    await waitFor(async () => (await topicMessageCount(topic)) >= 10, '10 replayed messages', 20_000);
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    const first = JSON.parse(stdout) as { published: number; completed: boolean; lastSeq: string; resumeCommand: string };
    expect(first.completed).toBe(false);
    expect(first.published).toBeGreaterThanOrEqual(10);
    expect(first.published).toBeLessThan(40);
    expect(first.published % 5).toBe(0); // stopped on a batch boundary
    expect(await topicMessageCount(topic)).toBe(first.published);
    const notice = stderr.trim().split('\n').map((l) => JSON.parse(l) as { event?: string; resumeCommand?: string }).find((l) => l.event === 'interrupted');
    expect(notice?.resumeCommand).toBe(first.resumeCommand);
    expect(first.resumeCommand).toMatch(/^outbox-relay replay .*--after-seq \d+$/);
    expect(first.resumeCommand).not.toContain('2h');

    const [program, ...args] = shellSplit(first.resumeCommand);
    expect(program).toBe('outbox-relay');
    const second = await runCli(args, env());
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ published: 40 - first.published, completed: true });

    const messages = await consumeTopic(topic, 40);
    expect(messages.map((m) => m.headers['outbox-event-id'])).toEqual(ids);
  });

  it('refuses bad arguments with exit 2 naming the argument, and publishes nothing', async () => {
    const topic = randomTopic('replay-badargs');
    await createTopic(topic, 1);
    await seedPublished(topic, 3);
    const cases: [string[], string][] = [
      [['--since', 'yesterdayish'], '--since'],
      [['--since', '2h', '--until', '3h'], '--until'],
      [['--since', '2024-05-01T10:00:00Z', '--until', '2024-05-01T09:00:00Z'], '--until'],
      [['--since', '2h', '--topic', 'no spaces allowed'], '--topic'],
      [['--since', '2h', '--to-topic', 'a/b'], '--to-topic'],
      [['--since', '2h', '--rate', '-5'], '--rate'],
      [['--since', '2h', '--id', '42'], '--id'],
      [['--since', '2h', '--batch-size', '0'], '--batch-size'],
      [['--until', '1h'], '--since'],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(['replay', '--schema', db.schema, ...args], env())));
    runs.forEach((run, i) => {
      expect(run.code, `${cases[i]![0].join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain(cases[i]![1]);
      expect(run.stdout).toBe('');
    });
    expect(await topicMessageCount(topic)).toBe(0);
  });

  it('off a terminal, stdout is one JSON result and stderr only JSON lines', async () => {
    const topic = randomTopic('replay-json');
    await createTopic(topic, 1);
    await seedPublished(topic, 6);
    const run = await runCli(['replay', '--schema', db.schema, '--since', '2h', '--batch-size', '2'], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ total: 6, published: 6, completed: true });
    const lines = run.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string; done?: number });
    expect(lines[0]).toMatchObject({ event: 'start', total: 6 });
    expect(lines.at(-1)).toMatchObject({ event: 'progress', done: 6, total: 6 });
  });

  it.runIf(hasScript())('on a terminal, draws a progress bar and prints a sentence', async () => {
    const topic = randomTopic('replay-tty');
    await createTopic(topic, 1);
    await seedPublished(topic, 8);
    // util-linux `script` gives the CLI a pseudo-terminal for stdout and stderr; its own stdout is what was drawn.
    const command = [process.execPath, CLI, 'replay', '--schema', db.schema, '--since', '2h'].map((w) => `'${w}'`).join(' ');
    const screen = execFileSync('script', ['-qec', command, '/dev/null'], { env: env(), encoding: 'utf8', timeout: 30_000 });
    expect(screen).toMatch(/replay \[[█░]+\] 8\/8 events/);
    expect(screen).toContain('replayed 8 of 8 events');
    expect(screen).not.toContain('{"event"');
  });
});

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
