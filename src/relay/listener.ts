import pg from 'pg';
import { coerceError } from '../errors.js';
import type { Logger } from '../log.js';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';

/** Channel the outbox_events trigger (migrations/000003.sql) notifies on commit; the payload is the schema. */
export const NOTIFY_CHANNEL = 'outbox_events';

/**
 * Holds one dedicated connection LISTENing for commits to the outbox and calls `onNotify` for each one of our schema.
 * It only nudges: polling still runs, so a lost notification (connection drop, PgBouncer in transaction mode, which
 * does not carry LISTEN) costs at most one poll interval. On a broken connection it reconnects with backoff.
 */
export class CommitListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: { databaseUrl: string; schema: string; onNotify: () => void; logger: Logger },
  ) {}

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.options.databaseUrl, application_name: 'outbox-relay listen', keepAlive: true });
    client.on('notification', (msg) => {
      if (msg.channel === NOTIFY_CHANNEL && msg.payload === this.options.schema) this.options.onNotify();
    });
    client.on('error', (err) => this.retry(client, err));
    client.on('end', () => this.retry(client, new Error('LISTEN connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(NOTIFY_CHANNEL)}`);
      if (this.stopped) {
        await client.end();
        return;
      }
      this.client = client;
      this.failures = 0;
      // Events may have committed while we were not listening: look now rather than after a poll interval.
      this.options.onNotify();
    } catch (err) {
      this.retry(client, err);
    }
  }

  private retry(client: pg.Client, err: unknown): void {
    if (this.stopped || (this.client !== undefined && this.client !== client) || this.retryTimer) return;
    this.client = undefined;
    void client.end().catch(() => undefined);
    this.failures++;
    const delayMs = backoffDelay(this.failures, DEFAULT_BACKOFF);
    this.options.logger.warn({ error: coerceError(err).message, retryInMs: delayMs }, 'LISTEN connection failed; polling meanwhile');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delayMs);
  }
}
