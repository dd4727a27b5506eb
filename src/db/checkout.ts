import type pg from 'pg';

export interface CheckedOutClient {
  client: pg.PoolClient;
  /** Returns the client to the pool, or discards it when it broke (its own 'error' or `err`). Idempotent. */
  release(err?: Error): void;
}

/**
 * `pool.connect()` for a client held across slow work (a Kafka publish, a consumer's handler). A checked-out client has
 * no 'error' listener (the pool removes its own until release), and a connection PostgreSQL ends meanwhile (restart,
 * failover, pg_terminate_backend) emits 'error': unheard, that exits the process. Heard here; the next query on the
 * client fails anyway, and release() then discards the connection instead of pooling it.
 */
export async function checkout(pool: Pick<pg.Pool, 'connect'>): Promise<CheckedOutClient> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  let released = false;
  return {
    client,
    release(err?: Error) {
      if (released) return;
      released = true;
      client.removeListener('error', onError);
      client.release(err ?? broken);
    },
  };
}
