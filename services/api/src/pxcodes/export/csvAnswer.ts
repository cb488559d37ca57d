import type { Request, Response } from 'express';
import type { Database } from '../../db/database';
import { HttpError } from '../../errors';
import { parseListQuery } from '../listQuery';
import { ClientGone, copyOut } from './copyOut';
import { copySql, csvColumns, type CsvColumn } from './copySql';

const pagingNames = ['page', 'per_page', 'cursor'];

/** The export's columns: `fields` picks among pxcode and procedure, kept in that order. */
function columnsOf(fields: readonly string[] | undefined): CsvColumn[] {
  if (fields?.includes('url')) {
    // A URL is not stored: it depends on the host asked, and the CLI imports only the two columns.
    throw new HttpError(400, 'fields: url is not a column of the CSV export (pxcode, procedure); the url is the collection URL followed by the code');
  }
  return csvColumns.filter((column) => !fields || fields.includes(column));
}

/** The query's checks, then the CSV export's own: an export is every row that matches, so no paging. */
function exportQuery(req: Request) {
  const paging = Object.keys(req.query).filter((name) => pagingNames.includes(name));
  if (paging.length > 0) {
    const why = 'a CSV export holds every row that matches: it takes no page, per_page or cursor';
    throw new HttpError(400, paging.map((name) => `${name}: ${why}`).join('; '));
  }
  const query = parseListQuery(req.query as Record<string, unknown>);
  return { spec: query.spec, columns: columnsOf(query.fields) };
}

const running = new WeakMap<Database, number>();

/**
 * An export holds a pool connection for as long as its client reads: at most half the pool runs
 * exports, so slow readers cannot starve every other request. Returns the slot's release.
 */
function exportSlot(db: Database): () => void {
  const poolMax = (db.client as { pool?: { max?: number } }).pool?.max ?? 2;
  const now = running.get(db) ?? 0;
  if (now >= Math.max(1, Math.floor(poolMax / 2))) {
    throw new HttpError(503, `${now} CSV exports are running, as many as the database pool allows at once; retry shortly`, { 'Retry-After': '5' });
  }
  running.set(db, now + 1);
  return () => running.set(db, (running.get(db) ?? 1) - 1);
}

/** GET of the collection as text/csv: every row that matches, in the asked order, streamed from one COPY (one snapshot). */
export async function sendCsv(db: Database, req: Request, res: Response): Promise<void> {
  const { spec, columns } = exportQuery(req);
  const start = () =>
    res.status(200).set({
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': 'attachment; filename="pxcodes.csv"',
    });
  // HEAD has no body: the headers are all it needs, with no COPY run.
  if (req.method === 'HEAD') return void start().end();
  const release = exportSlot(db);
  try {
    await copyOut(db, copySql(db, spec, columns), res, start);
  } catch (error) {
    // A download cancelled is no error of the API's; a database error after the first bytes has cut the response.
    if (error instanceof ClientGone) return;
    throw error;
  } finally {
    release();
  }
}
