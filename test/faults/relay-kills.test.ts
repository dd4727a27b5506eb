import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countRows, createTestSchema, type TestSchema } from '../helpers/db.js';
import { consumeEventIds, expectDelivery, printRelayOutputOnFailure } from '../helpers/faultReport.js';
import { createTopic, kafkaBrokers, randomTopic } from '../helpers/kafka.js';
import { RelayProcess, waitFor } from '../helpers/relayProcess.js';
import { startWriter } from '../helpers/writer.js';

const BATCH_SIZE = 50;

let db: TestSchema;
let writer: ReturnType<typeof startWriter> | undefined;
const relays: RelayProcess[] = [];
// Every process of the test, killed or not, for the output printed when it fails.
let spawned: RelayProcess[] = [];
beforeEach(async (ctx) => {
  db = await createTestSchema(ctx.task.name);
  spawned = [];
  printRelayOutputOnFailure(() => spawned.slice(-3));
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.kill('SIGKILL')));
  await writer?.stop().catch(() => undefined);
  await db.cleanup();
});

function spawnRelay(): RelayProcess {
  const relay = new RelayProcess(db.schema, ['--batch-size', String(BATCH_SIZE), '--poll-interval', '50', '--log-level', 'debug']);
  relays.push(relay);
  spawned.push(relay);
  return relay;
}

const published = () => countRows(db.pool, db.schema, 'published_at IS NOT NULL');
const pending = () => countRows(db.pool, db.schema, 'published_at IS NULL');

/**
 * Kills `victim()` with SIGKILL `kills` times and restarts it each time. Moments are random: 0-1.5 s after the
 * previous restart, so some land while the process starts or connects, most while batches are claimed, published or
 * marked; and only after the relays published 50 more events, so every kill interrupts a running stream.
 */
async function killRepeatedly(kills: number, victim: () => RelayProcess, replace: (relay: RelayProcess) => void): Promise<void> {
  for (let k = 0; k < kills; k++) {
    const before = await published();
    await waitFor(async () => (await published()) >= before + 50, 'the relays to publish 50 more events', 60_000);
    await new Promise((r) => setTimeout(r, Math.random() * 1_500));
    const exit = await victim().kill('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    replace(spawnRelay());
  }
}

async function drainAndStop(): Promise<void> {
  await waitFor(async () => (await pending()) === 0, 'the backlog to drain after the last restart', 60_000);
  const alive = relays.splice(0).filter((r) => r.child.exitCode === null && r.child.signalCode === null);
  for (const relay of alive) {
    // Before `run` installs its handlers (the first ~0.3 s of a process), SIGTERM ends Node by default.
    await waitFor(() => relay.output.includes('relay starting'), 'the relay to start', 20_000);
    expect(await relay.kill('SIGTERM'), relay.output.slice(-2_000)).toMatchObject({ code: 0 });
  }
}

describe('relay processes killed', () => {
  it('30 SIGKILLs of a lone relay at random moments: nothing lost, at most one batch republished per kill', async () => {
    const topic = randomTopic('sigkill30');
    await createTopic(topic, 3);
    const kills = 30;
    writer = startWriter(db.pool, db.schema, topic, { pauseMs: 2 });
    let relay = spawnRelay();
    await killRepeatedly(kills, () => relay, (next) => (relay = next));
    const stats = await writer.stop();
    await drainAndStop();
    const ids = await consumeEventIds(kafkaBrokers(), topic);
    expectDelivery(`sigkill x${kills}`, ids, stats, kills * BATCH_SIZE, { kills, batchSize: BATCH_SIZE });
  });

  it('three relays, one SIGKILLed 10 times: nothing lost, duplicates only from the kills', async () => {
    const topic = randomTopic('three-relays');
    await createTopic(topic, 3);
    const kills = 10;
    writer = startWriter(db.pool, db.schema, topic, { pauseMs: 2 });
    const [, , first] = [spawnRelay(), spawnRelay(), spawnRelay()];
    let victim = first!;
    const survivors = relays.slice(0, 2);
    await killRepeatedly(kills, () => victim, (next) => (victim = next));
    const stats = await writer.stop();
    // The two relays never killed ran throughout, same processes.
    for (const relay of survivors) expect(relay.child.exitCode, relay.output.slice(-2_000)).toBeNull();
    await drainAndStop();
    const ids = await consumeEventIds(kafkaBrokers(), topic);
    expectDelivery(`three relays, one killed x${kills}`, ids, stats, kills * BATCH_SIZE, { kills, batchSize: BATCH_SIZE });
    // All three shared the work: each logged batches it claimed (the victim across its incarnations).
    for (const relay of survivors) expect(relay.output).toMatch(/"claimed":[1-9]/);
  });
});
