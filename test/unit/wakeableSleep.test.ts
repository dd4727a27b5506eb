import { describe, expect, it } from 'vitest';
import { WakeableSleep } from '../../src/relay/wakeableSleep.js';

describe('WakeableSleep', () => {
  it('wake() ends a running sleep at once', async () => {
    const sleeper = new WakeableSleep();
    const started = performance.now();
    const sleeping = sleeper.sleep(60_000);
    sleeper.wake();
    await sleeping;
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('a wake() while awake makes the next sleep return at once, once', async () => {
    const sleeper = new WakeableSleep();
    sleeper.wake();
    sleeper.wake(); // coalesced: notifications during a batch cost one extra claim, not one each
    const started = performance.now();
    await sleeper.sleep(60_000);
    expect(performance.now() - started).toBeLessThan(1_000);
    let finished = false;
    const second = sleeper.sleep(50).then(() => (finished = true));
    expect(finished).toBe(false);
    await second;
    expect(finished).toBe(true);
  });
});
