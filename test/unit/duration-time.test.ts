import { describe, expect, it } from 'vitest';
import { formatDuration, parseTimeOrDuration } from '../../src/duration.js';
import { ConfigError } from '../../src/errors.js';

const NOW = new Date('2024-05-10T12:00:00.000Z');

describe('parseTimeOrDuration', () => {
  it.each([
    ['90m', '2024-05-10T10:30:00.000Z'],
    ['2h', '2024-05-10T10:00:00.000Z'],
    ['7d', '2024-05-03T12:00:00.000Z'],
    ['1h30m', '2024-05-10T10:30:00.000Z'],
    ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T10:00:00.250Z', '2024-05-01T10:00:00.250Z'],
    ['2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T12:00+0200', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01 10:00:00Z', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(parseTimeOrDuration(text, '--since', NOW).toISOString()).toBe(iso);
  });

  it.each(['yesterdayish', '', '2024-05-01T10:00', '2024-02-30T10:00:00Z', '2024-13-01', '1714557600', '-2h', '2h ago'])('refuses %j naming the option', (text) => {
    expect(() => parseTimeOrDuration(text, '--since', NOW)).toThrow(ConfigError);
    expect(() => parseTimeOrDuration(text, '--since', NOW)).toThrow(/--since /);
  });

  it('asks for a zone rather than guessing the host\'s', () => {
    expect(() => parseTimeOrDuration('2024-05-01T10:00:00', '--until', NOW)).toThrow(/--until needs a time zone/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [45_000, '45s'],
    [192_000, '3m12s'],
    [7_500_000, '2h5m'],
    [273_600_000, '3d4h'],
  ])('%i ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
