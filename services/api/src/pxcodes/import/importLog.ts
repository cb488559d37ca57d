import type { Knex } from 'knex';

export type ImportLogFormat = 'csv' | 'sql';

/** Records a committed import, in its own transaction: a rolled back import leaves no row. */
export async function recordImport(trx: Knex.Transaction, format: ImportLogFormat, rowsRead: number, rowsWritten: number): Promise<void> {
  await trx('starter_imports').insert({ format, rows_read: rowsRead, rows_written: rowsWritten });
}

export interface ImportsSince {
  /** The table's identity: another one when resetdb made the table again (its ids start over). */
  table: string;
  lastId: number;
  byFormat: { format: ImportLogFormat; imports: number; rowsWritten: number }[];
}

/** The imports recorded after `afterId` (rows only ever come after), by format. */
export async function readImportsSince(db: Knex, afterId: number): Promise<ImportsSince> {
  const result = await db.raw(
    `SELECT 'starter_imports'::regclass::oid::text AS table, format, count(*) AS imports, sum(rows_written) AS rows_written, max(id) AS last_id
       FROM (SELECT 1) AS always LEFT JOIN starter_imports ON id > ? GROUP BY format`,
    [afterId],
  );
  const rows = result.rows as { table: string; format: ImportLogFormat | null; imports: string; rows_written: string | null; last_id: string | null }[];
  const found = rows.filter((row) => row.format !== null);
  return {
    table: rows[0]!.table,
    lastId: Math.max(afterId, ...found.map((row) => Number(row.last_id))),
    byFormat: found.map((row) => ({ format: row.format!, imports: Number(row.imports), rowsWritten: Number(row.rows_written) })),
  };
}
