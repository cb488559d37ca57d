import type { Knex } from 'knex';
import type { ImportFormat } from './sourceRow';

/** Records a committed import, in its own transaction: a rolled back import leaves no row. */
export async function recordImport(trx: Knex.Transaction, format: ImportFormat, rowsRead: number, rowsWritten: number): Promise<void> {
  // Imports take their ids one after another, each after the one before committed (the state row is
  // locked until then), so a reader that counts past the last id it saw misses none.
  await trx.raw('SELECT FROM starter_pxcodes_state FOR UPDATE');
  await trx('starter_imports').insert({ format, rows_read: rowsRead, rows_written: rowsWritten });
}

export interface ImportsSince {
  /** The tables' epoch (starter_pxcodes_state's): another one when resetdb made them again (ids start over); a restore keeps it. */
  epoch: string;
  lastId: number;
  byFormat: { format: ImportFormat; imports: number; rowsWritten: number }[];
}

/** The imports recorded after `afterId` (rows only ever come after), by format. */
export async function readImportsSince(db: Knex, afterId: number): Promise<ImportsSince> {
  const result = await db.raw(
    `SELECT (SELECT epoch::text FROM starter_pxcodes_state) AS epoch, format, count(*) AS imports, sum(rows_written) AS rows_written, max(id) AS last_id
       FROM (SELECT 1) AS always LEFT JOIN starter_imports ON id > ? GROUP BY format`,
    [afterId],
  );
  const rows = result.rows as { epoch: string; format: ImportFormat | null; imports: string; rows_written: string | null; last_id: string | null }[];
  const found = rows.filter((row) => row.format !== null);
  return {
    epoch: rows[0]!.epoch,
    lastId: Math.max(afterId, ...found.map((row) => Number(row.last_id))),
    byFormat: found.map((row) => ({ format: row.format!, imports: Number(row.imports), rowsWritten: Number(row.rows_written) })),
  };
}
