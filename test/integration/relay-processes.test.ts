import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countRows, createTestSchema, type TestSchema } from '../helpers/db.js';
import { consumeTopic, createTopic, randomTopic } from '../helpers/kafka.js';
import { RelayProcess, waitFor } from '../helpers/relayProcess.js';
import { startWriter, verifyDelivery } from '../helpers/writer.js';

let db: TestSchema;
const relays: RelayProcess[] = [];
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.kill('SIGKILL')));
  await db.cleanup();
});

function spawnRelay(batchSize: number): RelayProcess {
  const relay = new RelayProcess(db.schema, ['--batch-size', String(batchSize), '--poll-interval', '20', '--log-level', 'debug']);
  relays.push(relay);
  return relay;
}

const pending = () => countRows(db.pool, db.schema, 'published_at IS NULL');

describe('relay processes', () => {
  it('two relays on one table publish every event exactly once when nothing crashes', async () => {
    const topic = randomTopic('two-relays');
    await createTopic(topic, 3);
    const writer = startWriter(db.pool, db.schema, topic);
    const a = spawnRelay(20);
    const b = spawnRelay(20);
    await waitFor(() => writer.stats.committed.length >= 1500, '1500 committed events', 60_000);
    const stats = await writer.stop();
    await waitFor(async () => (await pending()) === 0, 'backlog drained', 60_000);
    expect((await a.kill('SIGTERM')).code).toBe(0);
    expect((await b.kill('SIGTERM')).code).toBe(0);

    const messages = await consumeTopic(topic, stats.committed.length);
    const report = verifyDelivery(messages.map((m) => m.headers['outbox-event-id']), stats);
    console.log(`two relays: ${JSON.stringify({ ...report, lost: report.lost.length, phantom: report.phantom.length })}`);
    expect(report.lost).toEqual([]);
    expect(report.phantom).toEqual([]);
    expect(report.duplicates).toBe(0);
    // Both really worked: each logged batches with events in them.
    for (const relay of [a, b]) expect(relay.output).toMatch(/"claimed":[1-9]/);
  });

  it('loses nothing when the relay is SIGKILLed repeatedly mid-stream; duplicates stay within one batch per kill', async () => {
    const topic = randomTopic('sigkill');
    await createTopic(topic, 3);
    const batchSize = 50;
    const kills = 12;
    const writer = startWriter(db.pool, db.schema, topic);
    let relay = spawnRelay(batchSize);
    for (let k = 0; k < kills; k++) {
      // Random moments, but only once the relay has work in flight: a backlog exists and it has started publishing.
      const before = writer.stats.committed.length;
      await waitFor(() => writer.stats.committed.length >= before + 30, 'the writer to make progress', 30_000);
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 600));
      const exit = await relay.kill('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
      relay = spawnRelay(batchSize);
    }
    const stats = await writer.stop();
    await waitFor(async () => (await pending()) === 0, 'backlog drained after the last restart', 60_000);
    expect((await relay.kill('SIGTERM')).code).toBe(0);

    const messages = await consumeTopic(topic, stats.committed.length);
    const report = verifyDelivery(messages.map((m) => m.headers['outbox-event-id']), stats);
    console.log(`sigkill x${kills}: ${JSON.stringify({ ...report, lost: report.lost.length, phantom: report.phantom.length, bound: kills * batchSize })}`);
    expect(report.lost).toEqual([]);
    expect(report.phantom).toEqual([]);
    expect(report.duplicates).toBeLessThanOrEqual(kills * batchSize);
  });

  it('keeps retrying on an unmigrated schema and names the command that fixes it', async () => {
    const relay = new RelayProcess(`${db.schema}_missing`, ['--log-level', 'warn']);
    relays.push(relay);
    await waitFor(() => relay.output.includes('outbox-relay migrate --schema'), 'the migrate hint', 20_000);
    expect(relay.child.exitCode).toBeNull();
    expect((await relay.kill('SIGTERM')).code).toBe(0);
  });

  it('exits 0 on SIGTERM after committing the batch in flight', async () => {
    const topic = randomTopic('sigterm');
    await createTopic(topic, 1);
    const relay = spawnRelay(10);
    await waitFor(() => relay.output.includes('relay starting'), 'relay start', 20_000);
    const exit = await relay.kill('SIGTERM');
    expect(exit.code).toBe(0);
    expect(relay.output).toContain('relay stopped');
  });
});
