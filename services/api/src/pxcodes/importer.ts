import type { Knex } from 'knex';
import type { Client as PgClient } from 'pg';
import type { Database } from '../db/database';
import { copyRows } from './import/copy';
import { csvRows } from './import/csvRows';
import { recordImport } from './import/importLog';
import { restoreIndexes, setIndexesAside } from './import/indexesAside';
import { ImportError, type ImportFormat, type SourceRow } from './import/sourceRow';
import { sqlRows } from './import/sqlRows';

export { ImportError, type ImportFormat } from './import/sourceRow';
export type OnConflict = 'error' | 'skip' | 'update';

export interface ImportOptions {
  format?: ImportFormat;
  onConflict?: OnConflict;
  onProgress?: (rowsRead: number) => void;
  progressEvery?: number;
  /** Into an empty table: build the secondary indexes after the rows (faster; the table's readers wait). */
  indexesAfter?: boolean;
}

export interface ImportResult {
  rows: number;
  written: number;
  /** Whether the secondary indexes were built after the rows (asked for, and the table was empty). */
  indexesAfter: boolean;
}

export function formatOf(file: string): ImportFormat {
  return /\.csv$/i.test(file) ? 'csv' : 'sql';
}

type Written = Omit<ImportResult, 'indexesAfter'>;

const rowsOf = (file: string, format: ImportFormat, withLines = false) => (format === 'csv' ? csvRows(file, withLines) : sqlRows(file));

/** One transaction streamed into COPY: a bad line (or existing code, unless onConflict) leaves nothing. */
export async function importFile(db: Database, file: string, options: ImportOptions = {}): Promise<ImportResult> {
  const { onConflict = 'error', progressEvery = 100_000, onProgress, indexesAfter = false } = options;
  const format = options.format ?? formatOf(file);
  const onRow = (rows: number) => {
    if (onProgress && rows % progressEvery === 0) onProgress(rows);
  };
  const copy = (connection: PgClient, target: string, withPosition: boolean) =>
    copyRows(connection, target, rowsOf(file, format), withPosition, onRow);
  return db.transaction(async (trx) => {
    // Inside a knex transaction this is the transaction's own connection.
    const connection = (await trx.client.acquireConnection()) as PgClient;
    const indexesAside = indexesAfter ? await setIndexesAside(trx) : [];
    const result =
      onConflict === 'error'
        ? await insertNew(db, () => copy(connection, 'starter_pxcodes (pxcode, procedure)', false), () => rowsOf(file, format, true))
        : await merge(trx, onConflict, (target) => copy(connection, target, true));
    await restoreIndexes(trx, indexesAside);
    await recordImport(trx, format, result.rows, result.written);
    return { ...result, indexesAfter: indexesAside.length > 0 };
  });
}

/** Every row is new: a code the table (or the file) has already fails the whole import, naming its line. */
async function insertNew(db: Database, copy: () => Promise<number>, numberedRows: () => AsyncIterable<SourceRow>): Promise<Written> {
  try {
    const rows = await copy();
    return { rows, written: rows };
  } catch (error) {
    throw await namingTheDuplicate(db, error, numberedRows());
  }
}

/** Skip or update: COPY into a scratch table, then one INSERT ... ON CONFLICT in file order. */
async function merge(trx: Knex.Transaction, onConflict: 'skip' | 'update', copy: (target: string) => Promise<number>): Promise<Written> {
  await trx.raw('CREATE TEMP TABLE starter_import (position bigint, pxcode text, procedure text) ON COMMIT DROP');
  const rows = await copy('starter_import (position, pxcode, procedure)');
  const result = await trx.raw(onConflict === 'skip' ? insertSkipping : insertUpdating);
  return { rows, written: (result as { rowCount: number }).rowCount };
}

const insertSkipping = `INSERT INTO starter_pxcodes (pxcode, procedure)
  SELECT pxcode, procedure FROM starter_import ORDER BY position
  ON CONFLICT (pxcode) DO NOTHING`;

// One statement may not update a row twice: the last line for a code wins.
const insertUpdating = `INSERT INTO starter_pxcodes (pxcode, procedure)
  SELECT pxcode, procedure FROM (
    SELECT DISTINCT ON (pxcode) position, pxcode, procedure FROM starter_import ORDER BY pxcode, position DESC
  ) AS last ORDER BY position
  ON CONFLICT (pxcode) DO UPDATE SET procedure = EXCLUDED.procedure`;

async function namingTheDuplicate(db: Database, error: unknown, rows: AsyncIterable<SourceRow>): Promise<unknown> {
  const { code, detail } = error as { code?: string; detail?: string };
  const duplicate = code === '23505' ? /\(pxcode\)=\((.*)\)/.exec(detail ?? '')?.[1] : undefined;
  if (duplicate === undefined) return error;
  // Asked outside the aborted transaction; inside a caller's, the file alone decides.
  const existedBefore = db.isTransaction ? false : (await db('starter_pxcodes').where({ pxcode: duplicate }).first('id')) !== undefined;
  const line = await lineOfDuplicate(rows, duplicate, existedBefore);
  return new ImportError(line, `pxcode '${duplicate}' already exists (use --on-conflict skip or update)`);
}

/** The line that caused the violation: the first naming the code when the table had it before, else the second. */
async function lineOfDuplicate(rows: AsyncIterable<SourceRow>, pxcode: string, existedBefore: boolean): Promise<number> {
  let first = 0;
  for await (const { position: line, row } of rows) {
    if (row.pxcode !== pxcode) continue;
    if (first || existedBefore) return line;
    first = line;
  }
  return first;
}
