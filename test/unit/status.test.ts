import { describe, expect, it } from 'vitest';
import { formatTable, renderStatus } from '../../src/cli/commands/status.js';
import { exceededThresholds, type OutboxStatus } from '../../src/ops/status.js';

const status: OutboxStatus = {
  at: new Date('2024-05-10T12:00:00Z'),
  backlog: 12,
  oldestPendingAt: new Date('2024-05-10T11:56:48Z'),
  lagMs: 192_000,
  publishedLastMinute: 340,
  publishedLastHour: 20_100,
  dead: 2,
  discarded: 1,
  topics: [
    { topic: 'orders', backlog: 12, oldestPendingAt: new Date('2024-05-10T11:56:48Z'), lagMs: 192_000, publishedLastMinute: 300, publishedLastHour: 20_000, dead: 0, discarded: 1 },
    { topic: 'payments', backlog: 0, oldestPendingAt: null, lagMs: null, publishedLastMinute: 40, publishedLastHour: 100, dead: 2, discarded: 0 },
  ],
};

describe('status thresholds', () => {
  it('reports each threshold exceeded, strictly greater than the limit', () => {
    expect(exceededThresholds(status, {})).toEqual([]);
    expect(exceededThresholds(status, { maxLagMs: 192_000, maxBacklog: 12 })).toEqual([]);
    expect(exceededThresholds(status, { maxLagMs: 60_000 })).toEqual(['lag 192000 ms exceeds the maximum of 60000 ms']);
    expect(exceededThresholds(status, { maxBacklog: 11, maxLagMs: 191_999 })).toHaveLength(2);
  });

  it('an empty backlog has no lag, whatever --max-lag says', () => {
    expect(exceededThresholds({ ...status, backlog: 0, lagMs: null, oldestPendingAt: null }, { maxLagMs: 0, maxBacklog: 0 })).toEqual([]);
  });
});

describe('status table', () => {
  it('shows the totals and one aligned row per topic', () => {
    const text = renderStatus(status, 'outbox');
    expect(text).toContain('backlog     12 events, oldest 3m12s');
    expect(text).toContain('published   340 last minute, 20100 last hour');
    expect(text).toContain('dead        2 (discarded 1)');
    const lines = text.trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(/^orders\s+12\s+3m12s\s+300\s+20000\s+0\s+1$/);
    expect(lines.at(-1)).toMatch(/^payments\s+0\s+-\s+40\s+100\s+2\s+0$/);
  });

  it('right-aligns numeric columns', () => {
    expect(formatTable(['A', 'N'], [['x', 5], ['yy', 100]])).toBe('A     N\nx     5\nyy  100\n');
  });
});
