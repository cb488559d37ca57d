import type { Database } from '../db';
import type { NewPxcode, PxcodeChanges } from './schema';

export interface PxcodeRow {
  id: number;
  pxcode: string;
  procedure: string;
}

const table = 'starter_pxcodes';
const columns = ['id', 'pxcode', 'procedure'] as const;

/** One page in insertion order (the seed's order), which stays stable as rows are added. */
export function findPage(db: Database, limit: number, offset: number): Promise<PxcodeRow[]> {
  return db<PxcodeRow>(table).select(...columns).orderBy('id').limit(limit).offset(offset);
}

export async function countAll(db: Database): Promise<number> {
  const row = await db(table).count<{ count: string }[]>('* as count').first();
  return Number(row?.count ?? 0);
}

export function findByCode(db: Database, pxcode: string): Promise<PxcodeRow | undefined> {
  return db<PxcodeRow>(table).where({ pxcode }).first(columns);
}

/** Locks the row until the transaction ends, so a conditional update cannot interleave. */
export function findByCodeForUpdate(db: Database, pxcode: string): Promise<PxcodeRow | undefined> {
  return db<PxcodeRow>(table).where({ pxcode }).forUpdate().first(columns);
}

/** Fails with SQLSTATE 23505 when the code exists. */
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
