import { describe, expect, it } from 'vitest';
import { chooseProgressRenderer, parseReplayArgs, resumeCommand } from '../../src/cli/commands/replay.js';
import { ConfigError } from '../../src/errors.js';
import { ceilToMillisecond } from '../../src/ops/replay.js';

const NOW = new Date('2024-05-10T12:00:00.000Z');

describe('replay arguments', () => {
  it('maps flags to library options', () => {
    const args = parseReplayArgs(
      { since: '2h', until: '2024-05-10T11:30:00Z', topic: ['orders'], id: ['0190A5B2-0000-7000-8000-000000000001'], rate: '2.5', afterSeq: '41', dryRun: true },
      NOW,
    );
    expect(args).toMatchObject({
      since: new Date('2024-05-10T10:00:00Z'),
      until: new Date('2024-05-10T11:30:00Z'),
      topics: ['orders'],
      ids: ['0190a5b2-0000-7000-8000-000000000001'],
      ratePerSecond: 2.5,
      afterSeq: '41',
      dryRun: true,
    });
  });

  it.each([
    [{ since: 'yesterdayish' }, '--since'],
    [{ since: '2h', until: '3h' }, '--until'],
    [{ since: '2h', until: '2h' }, '--until'],
    [{ since: '2h', topic: ['ok', 'bad topic!'] }, '--topic'],
    [{ since: '2h', toTopic: '..' }, '--to-topic'],
    [{ since: '2h', rate: '-5' }, '--rate'],
    [{ since: '2h', rate: '0' }, '--rate'],
    [{ since: '2h', rate: 'fast' }, '--rate'],
    [{ since: '2h', id: ['not-a-uuid'] }, '--id'],
    [{ since: '2h', afterSeq: '-1' }, '--after-seq'],
  ])('%j is refused naming %s', (opts, option) => {
    let thrown: unknown;
    try {
      parseReplayArgs(opts, NOW);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).option).toBe(option);
  });
});

describe('resume command', () => {
  const window = { since: new Date('2024-05-10T10:00:00Z'), until: new Date('2024-05-10T12:00:00.001Z'), afterSeq: '0' };

  it('pins the window to absolute times and adds --after-seq, replacing any earlier one', () => {
    const cmd = resumeCommand(['replay', '--since', '2h', '--topic', 'orders', 'payments', '--after-seq=7', '--rate', '5'], window, '120');
    expect(cmd).toBe('outbox-relay replay --topic orders payments --rate 5 --since 2024-05-10T10:00:00.000Z --until 2024-05-10T12:00:00.001Z --after-seq 120');
  });

  it('replaces --since=… and --until … forms alike', () => {
    const cmd = resumeCommand(['replay', '--since=90m', '--until', '2024-05-10T12:00:00Z', '--dry-run'], window, '3');
    expect(cmd.match(/--since/g)).toHaveLength(1);
    expect(cmd.match(/--until/g)).toHaveLength(1);
    expect(cmd).toContain('--dry-run');
  });

  it('never prints a secret given as a flag, and quotes what a shell would split', () => {
    const cmd = resumeCommand(
      ['replay', '--since', '1h', '--database-url', 'postgres://app:s3cret@db:5432/x', '--kafka-sasl-password=hunter2', '--key', "it's here"],
      window,
      '9',
    );
    expect(cmd).not.toContain('s3cret');
    expect(cmd).not.toContain('hunter2');
    expect(cmd).toContain("--database-url 'postgres://app:***@db:5432/x'");
    expect(cmd).toContain(`--key 'it'\\''s here'`);
  });
});

describe('progress output', () => {
  it('draws a bar only on a terminal', () => {
    expect(chooseProgressRenderer({ isTTY: true })).toBe('bar');
    expect(chooseProgressRenderer({ isTTY: false })).toBe('json');
    expect(chooseProgressRenderer({})).toBe('json');
  });
});

describe('ceilToMillisecond', () => {
  it('rounds PostgreSQL microseconds up so no row before the snapshot falls outside the window', () => {
    expect(ceilToMillisecond('2024-05-10T12:00:00.123000Z').toISOString()).toBe('2024-05-10T12:00:00.123Z');
    expect(ceilToMillisecond('2024-05-10T12:00:00.123001Z').toISOString()).toBe('2024-05-10T12:00:00.124Z');
    expect(ceilToMillisecond('2024-05-10T12:00:00.999999Z').toISOString()).toBe('2024-05-10T12:00:01.000Z');
  });
});
