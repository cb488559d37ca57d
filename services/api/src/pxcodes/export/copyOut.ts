import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client as PgClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Database } from '../../db/database';

type PooledClient = PgClient & { __knex__disposed?: unknown };

/**
 * Streams `COPY ... TO STDOUT` into `out` with backpressure, so memory stays flat at any size.
 * `start` runs once the first bytes have come: an error before them (the caller answers it) has
 * sent nothing. After them, a failure on either side cuts `out` (no complete-looking half file)
 * and, unless the COPY had ended, the database connection, which stops the COPY on the server
 * at its next write and is never used again.
 */
export async function copyOut(db: Database, sql: string, out: Writable, start: () => void): Promise<void> {
  const connection = (await db.client.acquireConnection()) as PooledClient;
  const copy = connection.query(copyTo(sql));
  let healthy = true;
  try {
    copy.on('error', () => undefined); // reported by firstBytes or pipeline; once the connection is cut, expected
    await firstBytes(copy);
    start();
    healthy = false;
    await pipeline(copy, out);
    healthy = true;
  } finally {
    if (!healthy && !copy.readableEnded) cut(connection);
    db.client.releaseConnection(connection);
  }
}

/** Ends the connection at once (pg destroys the socket of a client with a query running). */
function cut(connection: PooledClient): void {
  connection.__knex__disposed = 'a COPY was cut short';
  connection.end().catch(() => undefined);
}

/** Resolves once the stream has bytes to read (or has ended), rejects with its error; reads nothing. */
function firstBytes(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (finish: () => void) => {
      stream.off('readable', onReadable).off('error', onError);
      finish();
    };
    const onReadable = () => settle(resolve);
    const onError = (error: Error) => settle(() => reject(error));
    stream.on('readable', onReadable).on('error', onError);
  });
}
