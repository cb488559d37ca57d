import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { z } from 'zod';
import type { Database } from '../db';
import { describeZodError } from '../errors';
import { procedureSchema, pxcodeSchema, type NewPxcode } from './schema';

export type ImportFormat = 'sql' | 'csv';
export type OnConflict = 'error' | 'skip' | 'update';

export interface ImportOptions {
  format?: ImportFormat;
  onConflict?: OnConflict;
  batchSize?: number;
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
  line: number;
  row: NewPxcode;
}

const rowSchema = z.object({ pxcode: pxcodeSchema, procedure: procedureSchema });

function validate(line: number, candidate: unknown): SourceRow {
  const result = rowSchema.safeParse(candidate);
  if (!result.success) throw new ImportError(line, describeZodError(result.error));
  return { line, row: result.data };
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

async function* sqlRows(file: string): AsyncGenerator<SourceRow> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
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

async function* csvRows(file: string): AsyncGenerator<SourceRow> {
  const parser = createReadStream(file).pipe(
    parseCsv({
      bom: true,
      info: true,
      skip_empty_lines: true,
      columns: (header: string[]) => {
        const names = header.map((name) => name.trim().toLowerCase());
        if (names.length !== 2 || !names.includes('pxcode') || !names.includes('procedure')) {
          throw new ImportError(1, `the header must be "pxcode,procedure", not "${header.join(',')}"`);
        }
        return names;
      },
    }),
  );
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: unknown; info: { lines: number } }>) {
      yield validate(info.lines, record);
    }
  } catch (error) {
    if (error instanceof ImportError) throw error;
    const csvError = error as { code?: string; lines?: number; message: string };
    if (csvError.code?.startsWith('CSV_')) throw new ImportError(csvError.lines ?? 0, csvError.message);
    throw error;
  }
}

export function formatOf(file: string): ImportFormat {
  return /\.csv$/i.test(file) ? 'csv' : 'sql';
}

async function writeBatch(db: Database, batch: SourceRow[], onConflict: OnConflict): Promise<number> {
  let rows = batch.map((entry) => entry.row);
  if (onConflict === 'update') {
    // One statement may not update the same row twice: the last line for a code wins.
    rows = [...new Map(rows.map((row) => [row.pxcode, row])).values()];
  }
  const insert = db('starter_pxcodes').insert(rows);
  try {
    if (onConflict === 'skip') return (await insert.onConflict('pxcode').ignore().returning('id')).length;
    if (onConflict === 'update') return (await insert.onConflict('pxcode').merge(['procedure']).returning('id')).length;
    await insert;
    return rows.length;
  } catch (error) {
    const { code, detail } = error as { code?: string; detail?: string };
    const duplicate = code === '23505' ? /\(pxcode\)=\((.*)\)/.exec(detail ?? '')?.[1] : undefined;
    if (duplicate === undefined) throw error;
    const line = batch.findLast((entry) => entry.row.pxcode === duplicate)?.line ?? 0;
    throw new ImportError(line, `pxcode '${duplicate}' already exists (use --on-conflict skip or update)`);
  }
}

/**
 * Imports a file of pxcodes in one transaction: a bad line stops the import with its line number
 * and nothing of the file stays in the database.
 */
export async function importFile(db: Database, file: string, options: ImportOptions = {}): Promise<ImportResult> {
  const { onConflict = 'error', batchSize = 1000, progressEvery = 100_000, onProgress } = options;
  const source = (options.format ?? formatOf(file)) === 'csv' ? csvRows(file) : sqlRows(file);
  return db.transaction(async (trx) => {
    let rows = 0;
    let written = 0;
    let batch: SourceRow[] = [];
    for await (const entry of source) {
      batch.push(entry);
      rows++;
      if (batch.length >= batchSize) {
        written += await writeBatch(trx, batch, onConflict);
        batch = [];
      }
      if (onProgress && rows % progressEvery === 0) onProgress(rows);
    }
    if (batch.length) written += await writeBatch(trx, batch, onConflict);
    return { rows, written };
  });
}
