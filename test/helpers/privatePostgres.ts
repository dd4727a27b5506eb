import { execFile, execFileSync } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A PostgreSQL cluster of the test's own, for tests that restart or stop PostgreSQL: the shared server on 5432 serves
 * every other test file and must never go down. initdb into a temporary directory, trust authentication, listening on
 * 127.0.0.1:<port> only. PostgreSQL refuses to run as root, so when the tests run as root every command runs as the
 * `postgres` OS user (runuser), which then owns the directory.
 */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly dir: string;
  /** `pg_ctl restart -m <mode>`: `fast` ends every session (as an operator's restart or a failover does). */
  restart(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  stop(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server (immediate) and deletes its directory. */
  destroy(): Promise<void>;
}

export interface PrivatePostgresOptions {
  /** Pick one per test file (e.g. 5499) so files running in parallel never clash. */
  port: number;
}

const run = promisify(execFile);

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const version = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  if (!version) throw new Error(`no PostgreSQL binaries under ${base}: install the postgresql package`);
  return join(base, version, 'bin');
}

export async function startPrivatePostgres(options: PrivatePostgresOptions): Promise<PrivatePostgres> {
  const bin = binDir();
  const asRoot = userInfo().uid === 0;
  const pgUser = (cmd: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args]) as [string, string[]];
  const exec = (cmd: string, args: string[], timeout = 60_000) => {
    const [file, argv] = pgUser(cmd, args);
    return run(file, argv, { timeout });
  };

  const dir = await mkdtemp(join(tmpdir(), `outbox-pg-${options.port}-`));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    await chown(dir, uid, gid);
  }
  await chmod(dir, 0o700);
  await exec('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  await writeFile(
    join(data, 'postgresql.auto.conf'),
    [
      `port = ${options.port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${dir}'`,
      // Throwaway data: durability against an OS crash is not what these tests exercise (a restart flushes anyway).
      'fsync = off',
      'max_connections = 50',
      'shared_buffers = 32MB',
      '',
    ].join('\n'),
    { flag: 'a' },
  );

  // -l on every start: without it the postmaster inherits pg_ctl's stdout pipe and execFile never returns.
  const pgCtl = (args: string[]) => exec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', ...args]);
  const stopNow = () => {
    try {
      const [file, argv] = pgUser('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      execFileSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // not running
    }
  };
  // A crashed test worker must not leave a postmaster behind holding the port.
  process.on('exit', stopNow);

  const withLog = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      const tail = await readFile(log, 'utf8').then((t) => t.split('\n').slice(-20).join('\n'), () => '(no log)');
      throw new Error(`private PostgreSQL on port ${options.port}: ${what} failed: ${(err as Error).message}\n--- ${log} ---\n${tail}`);
    }
  };

  const cluster: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${options.port}/postgres`,
    dir,
    restart: (mode = 'fast') => withLog('restart', () => pgCtl(['-m', mode, 'restart'])),
    stop: (mode = 'fast') => withLog('stop', () => pgCtl(['-m', mode, 'stop'])),
    start: () => withLog('start', () => pgCtl(['start'])),
    async destroy() {
      stopNow();
      process.off('exit', stopNow);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
