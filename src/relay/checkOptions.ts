import { OPTIONS } from '../config.js';
import type { RelayOptions } from './relay.js';

const NUMERIC = ['batchSize', 'pollIntervalMs', 'publishTimeoutMs', 'maxAttempts'] as const;

/**
 * createRelay's numbers get the same ranges as the CLI's flags (config.ts), and the same ConfigError naming the
 * option. Unchecked, `batchSize: 0` claimed nothing and counted as a full batch, so the loop re-claimed without pause
 * (~2,500 empty claims/s, a whole core); `pollIntervalMs: 0` polled ~500 times/s; `publishTimeoutMs: 0` never published.
 */
export function checkRelayOptions(options: RelayOptions): void {
  for (const key of NUMERIC) {
    if (options[key] !== undefined) OPTIONS[key].parse(options[key], key);
  }
}
