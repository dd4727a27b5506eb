export interface BackoffPolicy {
  /** First delay. */
  initialMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
  /** Each failure multiplies the delay by this. */
  factor: number;
  /** ±fraction of random jitter, so many relays recovering together do not retry in lock-step. */
  jitter: number;
}

/** kafkajs-style: 300 ms, ×2, ±20 %, capped at 30 s. Reached after 7 consecutive failures. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 300, maxMs: 30_000, factor: 2, jitter: 0.2 };

/**
 * The relay loop's backoff after a failed batch: as DEFAULT_BACKOFF but capped at 5 s, reached after 6 failures. The
 * relay waits out its whole backoff even when Kafka is back, so the cap is the worst extra delay after an outage: 30 s
 * made a 20 s Kafka outage end 17 s late (test/faults/kafka-outage.test.ts). A retry costs one claim query and one
 * connection attempt, so one every 5 s during a long outage is nothing for either side.
 */
export const RELAY_BACKOFF: BackoffPolicy = { ...DEFAULT_BACKOFF, maxMs: 5_000 };

/** Delay before retry number `attempt` (1 = after the first failure). */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** exponent);
  const jittered = base * (1 + policy.jitter * (2 * random() - 1));
  return Math.round(Math.min(policy.maxMs, Math.max(0, jittered)));
}
