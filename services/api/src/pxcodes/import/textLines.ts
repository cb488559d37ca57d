import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { ImportError } from './sourceRow';

// No valid line comes near this (a row is two short fields); it bounds what one line may hold in memory.
export const maxLineBytes = 1024 * 1024;

/**
 * The file's text, in whole lines (but for a last one without its newline). Bytes that are not
 * UTF-8 stop the import, naming their line, where decoding would have put U+FFFD in their place and
 * stored that; so does a line over maxLineBytes. The lines before go first, so that a bad line or a
 * duplicate earlier in the file is the one named.
 */
export async function* utf8Text(file: string): AsyncGenerator<string> {
  let pending: Buffer[] = []; // the unfinished line, in pieces
  let pendingBytes = 0;
  let offset = 0; // of the unfinished line in the file
  const tooLong = async () => new ImportError(await lineAt(file, offset), `is longer than ${maxLineBytes} bytes (lines end at LF or CRLF)`);
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    const end = chunk.lastIndexOf(10) + 1; // a newline byte is never part of a UTF-8 sequence
    if (pendingBytes + (end === 0 ? chunk.length : chunk.indexOf(10)) > maxLineBytes) throw await tooLong();
    if (end === 0) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      continue;
    }
    const lines = pending.length === 0 ? chunk.subarray(0, end) : Buffer.concat([...pending, chunk.subarray(0, end)]);
    yield* decodeLines(file, lines, offset);
    offset += lines.length;
    pending = end < chunk.length ? [chunk.subarray(end)] : [];
    pendingBytes = chunk.length - end;
  }
  yield* decodeLines(file, Buffer.concat(pending), offset);
}

/** Whole lines as text; at the first line that is not UTF-8, the lines before it, then its error. */
async function* decodeLines(file: string, lines: Buffer, offset: number): AsyncGenerator<string> {
  if (isUtf8(lines)) {
    yield lines.toString('utf8');
    return;
  }
  let start = 0;
  for (let end = lines.indexOf(10); end !== -1 && isUtf8(lines.subarray(start, end)); end = lines.indexOf(10, start)) start = end + 1;
  yield lines.subarray(0, start).toString('utf8');
  throw new ImportError(await lineAt(file, offset + start), 'is not valid UTF-8 (save the file as UTF-8)');
}

/** The number of the line that holds the file's byte at `offset`. */
async function lineAt(file: string, offset: number): Promise<number> {
  let line = 1;
  let seen = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    const part = chunk.subarray(0, Math.max(0, offset - seen));
    for (let at = part.indexOf(10); at !== -1; at = part.indexOf(10, at + 1)) line++;
    seen += chunk.length;
    if (seen >= offset) break;
  }
  return line;
}

/** Lines end at LF or CRLF only: a lone CR is part of its line (readline would end the line there). */
export async function* textLines(file: string): AsyncGenerator<string> {
  for await (const text of utf8Text(file)) {
    const lines = text.split('\n');
    const last = lines.pop(); // '' after a newline; else the file's last line, which has none
    for (const line of lines) yield line.endsWith('\r') ? line.slice(0, -1) : line;
    if (last) yield last;
  }
}
