import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { Client as PgClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Database } from '../../db/database';

type PooledClient = PgClient & { connectionParameters: ConstructorParameters<typeof PgClient>[0]; __knex__disposed?: unknown };
type CopyStream = ReturnType<typeof copyTo>;

const stopWaitMs = 10_000;

/** The client left: nothing to answer, nothing to log as a failure. */
export class ClientGone extends Error {}

/**
 * Streams `COPY ... TO STDOUT` into `out` with backpressure, so memory stays flat at any size.
 * `start` runs once the first bytes have come: an error before them (the caller answers it) has
 * sent nothing. After them, a database error cuts `out` (no complete-looking half file); a client
 * that goes away has its COPY cancelled (see stop), and the connection goes back to the pool.
 */
export async function copyOut(db: Database, sql: string, out: Writable, start: () => void): Promise<void> {
  const connection = (await db.client.acquireConnection()) as PooledClient;
  const copy = connection.query(copyTo(sql));
  try {
    copy.on('error', () => undefined); // reported by firstBytes or pipeInto
    if (!(await firstBytes(copy, out))) {
      await stop(connection, copy);
      throw new ClientGone('the client went away before the export began');
    }
    start();
    await pipeInto(copy, out, () => stop(connection, copy));
  } finally {
    db.client.releaseConnection(connection);
  }
}

/** Pipes with backpressure; a database error cuts `out`; `out` closing first calls `gone` and rejects once it is done. */
function pipeInto(copy: CopyStream, out: Writable, gone: () => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.destroyed) return void gone().then(() => reject(new ClientGone('the client went away during the export')), reject);
    copy.pipe(out);
    copy.once('error', (error) => {
      out.destroy(error);
      reject(error);
    });
    out.once('close', () => {
      if (out.writableFinished) return resolve();
      copy.unpipe(out);
      gone().then(() => reject(new ClientGone('the client went away during the export')), reject);
    });
  });
}

/**
 * Cancels the COPY (a cancel request, as psql's ^C) while reading and dropping what it still
 * sends: a backend blocked on a full socket would never see the cancel. Ending the connection
 * instead would make the backend write to a closed socket, which some builds do not survive
 * (SIGPIPE, and the postmaster then restarts every backend). Only if the COPY does not stop in
 * time is the connection ended and dropped from the pool.
 */
async function stop(connection: PooledClient, copy: CopyStream): Promise<void> {
  if (copy.readableEnded) return;
  copy.resume();
  const stopped = Promise.race([once(copy, 'end'), once(copy, 'error')]).then(() => true, () => true);
  sendCancel(connection, copy);
  const timer = new Promise<boolean>((resolve) => setTimeout(resolve, stopWaitMs, false).unref());
  if (!(await Promise.race([stopped, timer]))) {
    connection.__knex__disposed = 'a COPY did not stop when cancelled';
    await connection.end().catch(() => undefined);
  }
}

/** pg's cancel request, on a connection of its own (pg types do not declare it). */
function sendCancel(connection: PooledClient, copy: CopyStream): void {
  const canceller = new PgClient(connection.connectionParameters) as unknown as {
    connection: { on(event: 'error', listener: () => void): void };
    cancel(client: PgClient, query: CopyStream): void;
  };
  canceller.connection.on('error', () => undefined); // the server may reset it: the COPY's end is what counts
  canceller.cancel(connection, copy);
}

/**
 * True once the stream has bytes to read (or has ended), false if `out` closes first (the client
 * left while PostgreSQL was still planning or waiting); rejects with the stream's error. Reads nothing.
 */
function firstBytes(stream: Readable, out: Writable): Promise<boolean> {
  return new Promise((resolve, reject) => {
    if (out.destroyed) return resolve(false);
    const settle = (finish: () => void) => {
      stream.off('readable', onReadable).off('error', onError);
      out.off('close', onClose);
      finish();
    };
    const onReadable = () => settle(() => resolve(true));
    const onError = (error: Error) => settle(() => reject(error));
    const onClose = () => settle(() => resolve(false));
    stream.on('readable', onReadable).on('error', onError);
    out.on('close', onClose);
  });
}
