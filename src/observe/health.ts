/**
 * Liveness and readiness, kept apart on purpose:
 * - liveness (`/healthz`) asks "is the loop turning?" A restart helps only a hung loop, so a loop that keeps failing
 *   because Kafka is down is still alive: restarting it would not bring Kafka back.
 * - readiness (`/readyz`) asks "can this relay reach PostgreSQL and Kafka right now?"
 */

export interface LivenessStatus {
  alive: boolean;
  /** Milliseconds since the loop last finished a batch, an empty poll or a failed attempt. */
  sinceLastTurnMs: number;
  windowMs: number;
}

/**
 * The longest a healthy loop can go without finishing a turn: a backoff at its cap (30 s + 20 % jitter = 36 s), then
 * an attempt bounded by the claim's statement timeout (publish timeout + 5 s) and the publish timeout, plus slack.
 * Defaults: max(3 × 500 ms, 36 + 2 × 10 + 5 + 4 s) = 65 s. A shorter window would restart relays that are merely
 * waiting out a Kafka outage.
 */
export function livenessWindowMs(pollIntervalMs: number, publishTimeoutMs: number): number {
  return Math.max(3 * pollIntervalMs, 36_000 + 2 * publishTimeoutMs + 9_000);
}

export class Liveness {
  private lastTurn: number;

  constructor(
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    // Starting counts as a turn: the first claim may wait for connections.
    this.lastTurn = now();
  }

  /** The loop finished a turn (batch, empty poll or failure). */
  beat(): void {
    this.lastTurn = this.now();
  }

  status(): LivenessStatus {
    const since = this.now() - this.lastTurn;
    return { alive: since <= this.windowMs, sinceLastTurnMs: since, windowMs: this.windowMs };
  }
}

export type CheckResult = { ok: true; ms: number } | { ok: false; ms: number; error: string };

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

export interface ReadinessOptions {
  /** Named checks; each resolves when its dependency answers, or rejects. */
  checks: Record<string, () => Promise<unknown>>;
  /**
   * A check slower than this counts as down. Default 750 ms, so `/readyz` answers within kubelet's default probe
   * timeout (1 s); a local SELECT 1 takes ~1 ms and a describe-cluster ~5 ms on an open connection.
   */
  timeoutMs?: number;
  /** Results are reused this long, so a burst of probes and scrapes costs one round of checks. Default 1,000 ms. */
  cacheMs?: number;
  now?: () => number;
  /** Called after every round of checks (e.g. to update the connected gauges). */
  onReport?: (report: ReadinessReport) => void;
}

/** Runs every check in parallel, each bounded by the timeout; concurrent callers share the round in flight. */
export function createReadiness(options: ReadinessOptions): { check(): Promise<ReadinessReport> } {
  const timeoutMs = options.timeoutMs ?? 750;
  const cacheMs = options.cacheMs ?? 1_000;
  const now = options.now ?? Date.now;
  let cached: { at: number; report: Promise<ReadinessReport> } | undefined;

  const runOne = async (check: () => Promise<unknown>): Promise<CheckResult> => {
    const started = now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { ok: true, ms: now() - started };
    } catch (err) {
      // Messages only (no stacks, no config): they are served to anyone who can reach the port.
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, ms: now() - started, error: message.slice(0, 300) };
    } finally {
      clearTimeout(timer);
    }
  };

  const runAll = async (): Promise<ReadinessReport> => {
    const names = Object.keys(options.checks);
    const results = await Promise.all(names.map((name) => runOne(options.checks[name]!)));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    const report = { ready: results.every((r) => r.ok), checks };
    options.onReport?.(report);
    return report;
  };

  return {
    check() {
      const t = now();
      if (!cached || t - cached.at >= cacheMs) cached = { at: t, report: runAll() };
      return cached.report;
    },
  };
}
