import { createRequire } from 'node:module';
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear. Connection strings are additionally passed through `redactUrl`
 * before they are ever logged, because a URL embeds its password in a plain string.
 */
const REDACTED_PATHS = [
  'password',
  '*.password',
  'databaseUrl',
  '*.databaseUrl',
  'connectionString',
  '*.connectionString',
  'sasl',
  '*.sasl',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  name?: string;
  /**
   * Human-readable lines instead of JSON. The CLI turns this on when stdout is a terminal: JSON is what log shippers
   * want, but unreadable to an operator running `outbox-relay` by hand. Redaction happens before formatting, so both
   * outputs hide the same secrets.
   */
  pretty?: boolean;
  /** Where lines go. Default: standard output. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = {
    name: options.name ?? 'outbox-relay',
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
  };
  if (options.pretty) return pino(settings, prettyDestination(options.destination ?? process.stdout));
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/**
 * pino-pretty's formatter used synchronously in the logging call, rather than as a transport: a transport runs in a
 * worker thread, and the lines written just before `process.exit` (shutdown, fatal errors) could be lost.
 * Loaded only when asked for, so JSON output (production) never pays for it (~15 ms of module loading).
 */
function prettyDestination(destination: DestinationStream): DestinationStream {
  const require = createRequire(import.meta.url);
  const { prettyFactory } = require('pino-pretty') as typeof import('pino-pretty');
  const format = prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' });
  return { write: (line: string) => destination.write(format(line)) };
}

/** A logger that writes nothing: the default for library users who pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** `postgres://app:s3cret@db/x` → `postgres://app:***@db/x`. Unparseable input is hidden entirely. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
