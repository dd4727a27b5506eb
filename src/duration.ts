import { ConfigError } from './errors.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** One or more `<integer><unit>` parts, e.g. `90m`, `2h`, `7d`, `1h30m`. A unit is required: a bare `30` is ambiguous. */
const DURATION = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+)(ms|s|m|h|d|w)/g;

/**
 * Parses a duration (a flag, an environment variable, a config file value) into milliseconds. Units: ms, s, m
 * (minutes), h, d, w. Throws `ConfigError` naming `option` (the CLI exits 2), so the user sees which option was wrong
 * and what a right value looks like. Library code, not CLI code: config.ts parses `--retention` with it, and the library
 * never imports from src/cli.
 */
export function parseDuration(raw: unknown, option: string): number {
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (!DURATION.test(text)) {
    throw new ConfigError(option, `must be a duration like 90m, 2h, 7d or 1h30m (units ms, s, m, h, d, w), got ${JSON.stringify(raw)}`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit!]!;
  if (!Number.isSafeInteger(total)) throw new ConfigError(option, `is too long: ${JSON.stringify(raw)}`);
  return total;
}

/**
 * ISO-8601 with an explicit zone (`2024-05-01T10:00:00Z`, `…+02:00`) or a bare date (`2024-05-01`, midnight UTC).
 * A date-time without a zone is refused rather than guessed: the relay host's local zone is rarely the operator's.
 */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * `--since`/`--until`: an ISO-8601 time, or a duration meaning "that long before `now`" (`90m`, `2h`, `7d`).
 * Throws `ConfigError` naming `option`.
 */
export function parseTimeOrDuration(raw: unknown, option: string, now: Date = new Date()): Date {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (DURATION.test(text.toLowerCase())) return new Date(now.getTime() - parseDuration(text, option));
  const iso = (ISO_DATE.test(text) || ISO_DATE_TIME.test(text)) && isCalendarDate(text);
  const date = iso ? new Date(ISO_DATE.test(text) ? `${text}T00:00:00Z` : text.replace(' ', 'T')) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    const zoneless = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text) && !ISO_DATE_TIME.test(text);
    throw new ConfigError(
      option,
      zoneless
        ? `needs a time zone: add Z or an offset like +02:00, got ${JSON.stringify(raw)}`
        : `must be an ISO-8601 time (2024-05-01T10:00:00Z) or a duration ago (90m, 2h, 7d), got ${JSON.stringify(raw)}`,
    );
  }
  return date;
}

/** V8 rolls 2024-02-30 over to March 1st; an operator who typed it made a mistake. */
function isCalendarDate(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  return m >= 1 && m <= 12 && d >= 1 && new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d;
}

/** Milliseconds for people: `850ms`, `45s`, `3m12s`, `2h5m`, `3d4h`. Two units at most; rounds down. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1_000) return `${Math.floor(ms)}ms`;
  const s = Math.floor(ms / 1_000);
  const [d, h, m, sec] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3_600), Math.floor((s % 3_600) / 60), s % 60];
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${sec}s`;
  return `${sec}s`;
}
