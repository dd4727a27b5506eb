import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/duration.js';
import { ConfigError } from '../../src/errors.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['45s', 45_000],
    ['90m', 5_400_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['30d', 2_592_000_000],
    ['2w', 1_209_600_000],
    ['1h30m', 5_400_000],
    [' 7D ', 604_800_000],
    ['0d', 0],
  ])('%s → %i ms', (text, ms) => {
    expect(parseDuration(text, '--older-than')).toBe(ms);
  });

  it.each(['', '30', '7 d', '1.5h', '-2h', '2y', 'h', '7d-', 'soon', '1e3s'])('refuses %j, naming the option', (text) => {
    expect(() => parseDuration(text, '--older-than')).toThrow(ConfigError);
    expect(() => parseDuration(text, '--older-than')).toThrow(/--older-than must be a duration like 90m/);
  });

  it('refuses non-strings and overflowing values', () => {
    expect(() => parseDuration(undefined, '--since')).toThrow(/--since/);
    expect(() => parseDuration(42, '--since')).toThrow(ConfigError);
    expect(() => parseDuration('99999999999999999999d', '--since')).toThrow(/--since is too long/);
  });
});
