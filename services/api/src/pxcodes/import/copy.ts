import { once } from 'node:events';
import type { Client as PgClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ImportError, type SourceRow } from './sourceRow';

// COPY's text format: backslash, tab, newline and carriage return are escaped; NUL is refused earlier.
const copyEscape = (text: string) => text.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);

const chunkBytes = 64 * 1024;

/**
 * Streams rows into `COPY target FROM STDIN`, in chunks and with backpressure, so a file of any
 * size costs the same memory. Returns the number of rows read.
 */
export async function copyRows(
  connection: PgClient,
  target: string,
  source: AsyncIterable<SourceRow>,
  withPosition: boolean,
  onRow: (rows: number) => void,
): Promise<number> {
  const stream = connection.query(copyFrom(`COPY ${target} FROM STDIN`));
  let failure: Error | undefined;
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', (error) => reject((failure = error)));
  });
  done.catch(() => undefined); // awaited below; the server may refuse (a duplicate) mid-stream
  let rows = 0;
  let chunk = '';
  try {
    for await (const { position, row } of source) {
      if (failure) throw failure;
      chunk += `${withPosition ? `${position}\t` : ''}${row.pxcode}\t${copyEscape(row.procedure)}\n`;
      onRow(++rows);
      if (chunk.length >= chunkBytes) {
        if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), done]);
        chunk = '';
      }
    }
  } catch (error) {
    // A bad line: the rows before it go first, since a problem among them that the server has not
    // reported yet (a duplicate) comes earlier in the file and is the one to name. The caller's
    // transaction then keeps nothing of them.
    const copyFailed = failure;
    if (copyFailed === undefined && error instanceof ImportError) stream.end(chunk);
    else stream.destroy(error as Error); // ends the COPY with an error: nothing of it is kept
    await done.catch(() => undefined);
    throw copyFailed ?? failure ?? error;
  }
  stream.end(chunk);
  await done;
  return rows;
}
