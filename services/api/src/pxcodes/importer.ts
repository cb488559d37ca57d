import { isUtf8 } from 'node:buffer';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import type { Client as PgClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { z } from 'zod';
import type { Database } from '../db/database';
import { describeZodError } from '../errors';
import { procedureSchema, pxcodeSchema, type NewPxcode } from './schema';

export type ImportFormat = 'sql' | 'csv';
export type OnConflict = 'error' | 'skip' | 'update';

export interface ImportOptions {
  format?: ImportFormat;
  onConflict?: OnConflict;
  onProgress?: (rowsRead: number) => void;
  progressEvery?: number;
}

export interface ImportResult {
  rows: number;
  written: number;
}

export class ImportError extends Error {
  override name = 'ImportError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

interface SourceRow {
  /** Rows in file order; the line number itself for SQL, the record number for CSV. */
  position: number;
  row: NewPxcode;
}

const rowSchema = z.object({ pxcode: pxcodeSchema, procedure: procedureSchema });

function validate(line: number, candidate: unknown): SourceRow {
  const result = rowSchema.safeParse(candidate);
  if (!result.success) throw new ImportError(line, describeZodError(result.error));
  return { position: line, row: result.data };
}

const identifier = (name: string) => `(?:"?(?:public"?\\."?)?)?"?${name}"?`;
const literal = "'((?:[^']|'')*)'";
// The seed's format, one statement a line: INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('039','...');
const insertPattern = new RegExp(
  `^INSERT\\s+INTO\\s+${identifier('starter_pxcodes')}\\s*\\(\\s*"?(pxcode|procedure)"?\\s*,\\s*"?(pxcode|procedure)"?\\s*\\)` +
    `\\s*VALUES\\s*\\(\\s*${literal}\\s*,\\s*${literal}\\s*\\)\\s*;?$`,
  'i',
);
const ignorablePattern = /^(--.*|BEGIN\s*;|COMMIT\s*;|START\s+TRANSACTION\s*;)?$/i;

// No valid line comes near this (a row is two short fields); it bounds what one line may hold in memory.
export const maxLineBytes = 1024 * 1024;

/**
 * The file's text, in whole lines (but for a last one without its newline). Bytes that are not
 * UTF-8 stop the import, naming their line, where decoding would have put U+FFFD in their place and
 * stored that; so does a line over maxLineBytes. The lines before go first, so that a bad line or a
 * duplicate earlier in the file is the one named.
 */
async function* utf8Text(file: string): AsyncGenerator<string> {
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
async function* textLines(file: string): AsyncGenerator<string> {
  for await (const text of utf8Text(file)) {
    const lines = text.split('\n');
    const last = lines.pop(); // '' after a newline; else the file's last line, which has none
    for (const line of lines) yield line.endsWith('\r') ? line.slice(0, -1) : line;
    if (last) yield last;
  }
}

async function* sqlRows(file: string): AsyncGenerator<SourceRow> {
  let line = 0;
  for await (const text of textLines(file)) {
    line++;
    const statement = (line === 1 ? text.replace(/^\uFEFF/, '') : text).trim();
    if (ignorablePattern.test(statement)) continue;
    const match = insertPattern.exec(statement);
    if (!match) {
      throw new ImportError(
        line,
        `expected INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('...','...'); got: ${statement.slice(0, 80)}`,
      );
    }
    const [, first, second, a, b] = match;
    if (first?.toLowerCase() === second?.toLowerCase()) throw new ImportError(line, `column ${first} is listed twice`);
    const values: Record<string, string> = {
      [first!.toLowerCase()]: a!.replaceAll("''", "'"),
      [second!.toLowerCase()]: b!.replaceAll("''", "'"),
    };
    yield validate(line, values);
  }
}

interface CsvRecord {
  record: string[];
  line: number | undefined;
}

/**
 * CSV records through csv-parse. Its line numbers (`info`) cost more than the parsing itself, so
 * the fast pass goes without them and a second pass finds the line when there is an error to name.
 */
async function* csvRecords(file: string, withLines: boolean): AsyncGenerator<CsvRecord> {
  // The text ends where reading it failed, and the error comes after the records before it (a
  // stream's error would drop those still buffered), so that an earlier bad line or duplicate is named.
  let textError: unknown;
  async function* text() {
    try {
      yield* utf8Text(file);
    } catch (error) {
      textError = error;
    }
  }
  const parser = Readable.from(text()).pipe(parseCsv({ bom: true, skip_empty_lines: true, info: withLines }));
  try {
    for await (const item of parser as AsyncIterable<string[] | { record: string[]; info: { lines: number } }>) {
      yield Array.isArray(item) ? { record: item, line: undefined } : { record: item.record, line: item.info.lines };
    }
  } catch (error) {
    const csvError = error as { code?: string; lines?: number; message: string };
    // Text cut short by a line that could not be read may leave a quote open: that line is the error.
    if (textError !== undefined && csvError.code === 'CSV_QUOTE_NOT_CLOSED') throw textError;
    if (csvError.code?.startsWith('CSV_')) throw new ImportError(csvError.lines ?? 0, csvError.message);
    throw error;
  }
  if (textError !== undefined) throw textError;
}

async function* csvRows(file: string, withLines = false): AsyncGenerator<SourceRow> {
  let position = 0;
  let columns: { pxcode: number; procedure: number } | undefined;
  for await (const { record, line } of csvRecords(file, withLines)) {
    if (!columns) {
      const names = record.map((name) => name.trim().toLowerCase());
      if (names.length !== 2 || !names.includes('pxcode') || !names.includes('procedure')) {
        throw new ImportError(1, `the header must be "pxcode,procedure", not "${record.join(',')}"`);
      }
      columns = { pxcode: names.indexOf('pxcode'), procedure: names.indexOf('procedure') };
      continue;
    }
    position++;
    const candidate = { pxcode: record[columns.pxcode], procedure: record[columns.procedure] };
    const result = rowSchema.safeParse(candidate);
    if (!result.success) {
      throw new ImportError(line ?? (await csvLineOf(file, position)), describeZodError(result.error));
    }
    yield { position: line ?? position, row: result.data };
  }
  if (!columns) throw new ImportError(1, 'the file is empty: expected the header "pxcode,procedure"');
}

/** The line on which the CSV's n-th data record ends. */
async function csvLineOf(file: string, recordNumber: number): Promise<number> {
  let seen = -1; // the header comes first
  for await (const { line } of csvRecords(file, true)) if (++seen === recordNumber) return line ?? 0;
  return 0;
}

export function formatOf(file: string): ImportFormat {
  return /\.csv$/i.test(file) ? 'csv' : 'sql';
}

// COPY's text format: backslash, tab, newline and carriage return are escaped; NUL is refused earlier.
const copyEscape = (text: string) => text.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);

/**
 * Streams rows into `COPY target FROM STDIN`, in chunks and with backpressure, so a file of any
 * size costs the same memory. Returns the number of rows read.
 */
async function copyRows(
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
      if (chunk.length >= 64 * 1024) {
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

/**
 * After a unique violation on `pxcode`, reads the file again for the line that caused it: the
 * first line naming the code when the table had it before, else the second.
 */
async function lineOfDuplicate(file: string, format: ImportFormat, pxcode: string, existedBefore: boolean): Promise<number> {
  let first = 0;
  for await (const { position: line, row } of format === 'csv' ? csvRows(file, true) : sqlRows(file)) {
    if (row.pxcode !== pxcode) continue;
    if (first || existedBefore) return line;
    first = line;
  }
  return first;
}

/**
 * Imports a file of pxcodes in one transaction, streamed into COPY: a bad line stops the import
 * with its line number and nothing of the file stays in the database. An existing code is such an
 * error, unless `onConflict` says to skip it or to take the file's procedure.
 */
export async function importFile(db: Database, file: string, options: ImportOptions = {}): Promise<ImportResult> {
  const { onConflict = 'error', progressEvery = 100_000, onProgress } = options;
  const format = options.format ?? formatOf(file);
  const source = format === 'csv' ? csvRows(file) : sqlRows(file);
  const onRow = (rows: number) => {
    if (onProgress && rows % progressEvery === 0) onProgress(rows);
  };
  return db.transaction(async (trx) => {
    // Inside a knex transaction this is the transaction's own connection.
    const connection = (await trx.client.acquireConnection()) as PgClient;
    if (onConflict === 'error') {
      try {
        const rows = await copyRows(connection, 'starter_pxcodes (pxcode, procedure)', source, false, onRow);
        return { rows, written: rows };
      } catch (error) {
        const { code, detail } = error as { code?: string; detail?: string };
        const duplicate = code === '23505' ? /\(pxcode\)=\((.*)\)/.exec(detail ?? '')?.[1] : undefined;
        if (duplicate === undefined) throw error;
        // The import's transaction is aborted; whether the code was there before is asked outside it
        // (inside a caller's transaction there is no outside: then the file alone decides).
        const existedBefore = db.isTransaction
          ? false
          : (await db('starter_pxcodes').where({ pxcode: duplicate }).first('id')) !== undefined;
        const line = await lineOfDuplicate(file, format, duplicate, existedBefore);
        throw new ImportError(line, `pxcode '${duplicate}' already exists (use --on-conflict skip or update)`);
      }
    }
    // Skip or update: COPY into a scratch table, then one INSERT ... ON CONFLICT in file order.
    await trx.raw('CREATE TEMP TABLE starter_import (position bigint, pxcode text, procedure text) ON COMMIT DROP');
    const rows = await copyRows(connection, 'starter_import (position, pxcode, procedure)', source, true, onRow);
    const result =
      onConflict === 'skip'
        ? await trx.raw(`INSERT INTO starter_pxcodes (pxcode, procedure)
            SELECT pxcode, procedure FROM starter_import ORDER BY position
            ON CONFLICT (pxcode) DO NOTHING`)
        : // One statement may not update a row twice: the last line for a code wins.
          await trx.raw(`INSERT INTO starter_pxcodes (pxcode, procedure)
            SELECT pxcode, procedure FROM (
              SELECT DISTINCT ON (pxcode) position, pxcode, procedure FROM starter_import ORDER BY pxcode, position DESC
            ) AS last ORDER BY position
            ON CONFLICT (pxcode) DO UPDATE SET procedure = EXCLUDED.procedure`);
    return { rows, written: (result as { rowCount: number }).rowCount };
  });
}
