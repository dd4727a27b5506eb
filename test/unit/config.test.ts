import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const URL = 'postgres://u:p@localhost:5432/db';

function configFile(content: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'outbox-config-')), 'config.json');
  writeFileSync(file, content);
  return file;
}

function optionOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).option;
  }
  throw new Error('expected ConfigError');
}

describe('resolveConfig', () => {
  it('applies defaults', () => {
    const c = resolveConfig({ env: { DATABASE_URL: URL, KAFKA_BROKERS: 'a:9092,b:9093' } });
    expect(c).toMatchObject({ databaseUrl: URL, kafkaBrokers: ['a:9092', 'b:9093'], schema: 'outbox', batchSize: 500, pollIntervalMs: 1_000, pollOnly: false });
  });

  it('takes flag over environment over file over default', () => {
    const file = configFile(JSON.stringify({ batchSize: 10, pollIntervalMs: 20, maxAttempts: 7 }));
    const c = resolveConfig({ flags: { batchSize: '30' }, env: { OUTBOX_POLL_INTERVAL_MS: '40' }, configFile: file });
    expect(c.batchSize).toBe(30);
    expect(c.pollIntervalMs).toBe(40);
    expect(c.maxAttempts).toBe(7);
    expect(c.publishTimeoutMs).toBe(10_000);
  });

  it.each([
    [{ flags: { batchSize: '-1' } }, '--batch-size'],
    [{ flags: { batchSize: '1.5' } }, '--batch-size'],
    [{ env: { OUTBOX_BATCH_SIZE: 'lots' } }, 'OUTBOX_BATCH_SIZE'],
    [{ flags: { databaseUrl: 'mysql://x@y/z' } }, '--database-url'],
    [{ env: { DATABASE_URL: 'not a url' } }, 'DATABASE_URL'],
    [{ flags: { kafkaBrokers: 'localhost' } }, '--kafka-brokers'],
    [{ flags: { kafkaBrokers: 'localhost:99999' } }, '--kafka-brokers'],
    [{ flags: { schema: 'bad-schema;drop' } }, '--schema'],
    [{ flags: { logLevel: 'loud' } }, '--log-level'],
    [{ flags: { pollIntervalMs: '0' } }, '--poll-interval'],
    [{ flags: { kafkaSaslMechanism: 'plain' } }, '--kafka-sasl-username'],
    [{ required: ['databaseUrl' as const] }, '--database-url / DATABASE_URL'],
  ])('refuses %j naming the option', (sources, option) => {
    expect(optionOf(() => resolveConfig(sources))).toBe(option);
  });

  it('refuses an unreadable, invalid or unknown-keyed config file', () => {
    expect(optionOf(() => resolveConfig({ configFile: '/nonexistent/outbox.json' }))).toBe('--config');
    expect(optionOf(() => resolveConfig({ configFile: configFile('{nope') }))).toBe('--config');
    expect(() => resolveConfig({ configFile: configFile('{"batchsize": 1}') })).toThrow(/unknown option "batchsize"/);
  });

  it('--retention takes a duration or 0 (off), from a flag, OUTBOX_RETENTION or the file (ms there); default 7 days', () => {
    expect(resolveConfig({}).retentionMs).toBe(7 * 86_400_000);
    expect(resolveConfig({ flags: { retentionMs: '36h' } }).retentionMs).toBe(36 * 3_600_000);
    expect(resolveConfig({ flags: { retentionMs: '0' } }).retentionMs).toBe(0);
    expect(resolveConfig({ env: { OUTBOX_RETENTION: '30d' } }).retentionMs).toBe(30 * 86_400_000);
    expect(resolveConfig({ env: { OUTBOX_RETENTION: '0' } }).retentionMs).toBe(0);
    expect(resolveConfig({ configFile: configFile('{"retentionMs": 3600000}') }).retentionMs).toBe(3_600_000);
    expect(resolveConfig({ configFile: configFile('{"retentionMs": "2d"}') }).retentionMs).toBe(2 * 86_400_000);
  });

  it.each([
    [{ flags: { retentionMs: '7' } }, '--retention'],
    [{ flags: { retentionMs: 'a week' } }, '--retention'],
    [{ flags: { retentionMs: '-1d' } }, '--retention'],
    [{ env: { OUTBOX_RETENTION: '1.5d' } }, 'OUTBOX_RETENTION'],
  ])('refuses retention %j naming the option and what it takes', (sources, option) => {
    expect(optionOf(() => resolveConfig(sources))).toBe(option);
    expect(() => resolveConfig(sources)).toThrow(/duration like 7d.*or 0 to keep/);
  });

  it('refuses a negative or fractional retentionMs in the file', () => {
    expect(optionOf(() => resolveConfig({ configFile: configFile('{"retentionMs": -1}') }))).toMatch(/^retentionMs \(in /);
    expect(optionOf(() => resolveConfig({ configFile: configFile('{"retentionMs": 1.5}') }))).toMatch(/^retentionMs \(in /);
  });

  it('names the file key when a file value is bad', () => {
    expect(optionOf(() => resolveConfig({ configFile: configFile('{"batchSize": 0}') }))).toMatch(/^batchSize \(in /);
  });
});
