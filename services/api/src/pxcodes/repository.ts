import type { Knex } from 'knex';
import type { Database } from '../db/database';
import type { NewPxcode, PxcodeChanges } from './schema';

export interface PxcodeRow {
  id: number;
  pxcode: string;
  procedure: string;
  /** A searched row's score (real, as PostgreSQL writes it: the text reads back as the same value). */
  relevance?: string;
}

const table = 'starter_pxcodes';
const columns = ['id', 'pxcode', 'procedure'] as const;

/** A page counted from the end (cheaper in the second half): `fromEnd` rows follow it; in id order. */
export async function findPageFromEnd(db: Database, limit: number, fromEnd: number): Promise<PxcodeRow[]> {
  const rows = await db<PxcodeRow>(table).select(...columns).orderBy('id', 'desc').limit(limit).offset(fromEnd);
  return rows.reverse();
}

export interface CollectionState {
  total: number;
  /** Changes with every write to the collection (and when the table is made again). */
  version: string;
}

/** The exact count and the version, kept by the database's own triggers (the pxcodes_state migration). */
export async function readState(db: Database): Promise<CollectionState> {
  return stateOf(await db('starter_pxcodes_state').first('total', 'version', 'epoch'));
}

function stateOf(row: { total?: unknown; version?: unknown; epoch?: unknown } | undefined): CollectionState {
  return { total: Number(row?.total ?? 0), version: `${row?.epoch ?? ''}:${row?.version ?? 0}` };
}

/** One key of an order; `column` is one of the table's own names, never the client's text. */
export interface OrderKey {
  column: 'id' | 'pxcode' | 'procedure' | 'relevance';
  descending: boolean;
}

/**
 * Rows and state in one statement, one snapshot: a page never disagrees with its total or version.
 * `order` repeats the rows' order; `count`, when given, is the total instead of the state row's
 * ('window': the query's own column `matched`, counted in the same scan as the rows).
 */
export async function withState(
  db: Database,
  query: Knex.QueryBuilder | Knex.Raw,
  order: OrderKey[] = [{ column: 'id', descending: false }],
  count?: Knex.Sql | 'window',
): Promise<{ rows: PxcodeRow[]; state: CollectionState }> {
  const { sql, bindings } = query.toSQL();
  const orderBy = order.map((key) => `p."${key.column}" ${key.descending ? 'DESC' : 'ASC'}`).join(', ');
  const ranked = order.some((key) => key.column === 'relevance');
  const total = count === 'window' ? 'coalesce(p.matched, 0) AS total' : count ? `(${count.sql}) AS total` : 's.total';
  const countBindings = count === 'window' ? [] : (count?.bindings ?? []);
  const result = await db.raw<{ rows: (Partial<PxcodeRow> & { total: string; version: string; epoch: string })[] }>(
    `SELECT ${total}, s.version, s.epoch, p.id, p.pxcode, p.procedure${ranked ? ', p.relevance::text AS relevance' : ''}
       FROM starter_pxcodes_state s LEFT JOIN LATERAL (${sql}) p ON true ORDER BY ${orderBy}`,
    [...countBindings, ...bindings],
  );
  // No rows still brings the state, with the row's columns null.
  const rows = result.rows
    .filter((row) => row.id != null)
    .map(({ id, pxcode, procedure, relevance }) => (ranked ? { id, pxcode, procedure, relevance } : { id, pxcode, procedure }) as PxcodeRow);
  return { rows, state: stateOf(result.rows[0]) };
}

/** One page in insertion order (the seed's order), which stays stable as rows are added. */
export function findPage(db: Database, limit: number, offset: number) {
  return withState(db, db<PxcodeRow>(table).select(...columns).orderBy('id').limit(limit).offset(offset));
}

/** Keyset pagination: the rows after `afterId`, as deep pages cost no more than the first. */
export function findAfter(db: Database, afterId: number, limit: number) {
  return withState(db, db<PxcodeRow>(table).select(...columns).where('id', '>', afterId).orderBy('id').limit(limit));
}

export function findByCode(db: Database, pxcode: string): Promise<PxcodeRow | undefined> {
  return db<PxcodeRow>(table).where({ pxcode }).first(columns);
}

/** Locks the row until the transaction ends, so a conditional update cannot interleave. */
export function findByCodeForUpdate(db: Database, pxcode: string): Promise<PxcodeRow | undefined> {
  return db<PxcodeRow>(table).where({ pxcode }).forUpdate().first(columns);
}

export async function insert(db: Database, item: NewPxcode): Promise<PxcodeRow> {
  const [row] = await db<PxcodeRow>(table).insert(item).returning(columns);
  return row as PxcodeRow;
}

export async function update(db: Database, pxcode: string, changes: PxcodeChanges): Promise<PxcodeRow | undefined> {
  const [row] = await db<PxcodeRow>(table).where({ pxcode }).update(changes).returning(columns);
  return row as PxcodeRow | undefined;
}

export async function remove(db: Database, pxcode: string): Promise<boolean> {
  return (await db(table).where({ pxcode }).delete()) > 0;
}

export function isEmpty(db: Database): Promise<boolean> {
  return db(table).first('id').then((row) => row === undefined);
}
