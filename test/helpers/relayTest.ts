import { afterEach, beforeEach } from 'vitest';
import { createRelay, type Relay, type RelayOptions } from '../../src/relay/relay.js';
import { createTestSchema, databaseUrl, type TestSchema } from './db.js';
import { kafkaBrokers } from './kafka.js';

export interface RelayTest {
  /** This test's fresh, migrated schema. */
  readonly db: TestSchema;
  /** An in-process relay on this test's schema (polling every 50 ms), stopped after the test. Not started. */
  relay(options?: Partial<RelayOptions>): Relay;
}

/** Registers the hooks every in-process relay test needs: a schema per test, relays stopped before it is dropped. */
export function useRelayTest(clientId: string): RelayTest {
  let db: TestSchema | undefined;
  const relays: Relay[] = [];
  beforeEach(async (ctx) => {
    db = await createTestSchema(ctx.task.name);
  });
  afterEach(async () => {
    // stop() is safe to call twice, so a test that stopped its relay itself is fine.
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await db?.cleanup();
  });
  return {
    get db() {
      if (!db) throw new Error('useRelayTest: db is only available inside a test');
      return db;
    },
    relay(options = {}) {
      const relay = createRelay({
        databaseUrl: databaseUrl(),
        kafka: { brokers: kafkaBrokers(), clientId },
        schema: this.db.schema,
        pollIntervalMs: 50,
        ...options,
      });
      relays.push(relay);
      return relay;
    },
  };
}
