import { pino, type Logger, type LevelWithSilent } from 'pino';

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

export function createLogger(options: { level?: LevelWithSilent; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'outbox-relay',
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
  });
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
