import type { Database } from '../db/database';
import { HttpError } from '../errors';
import type { Keyset } from '../http/cursors';
import type { ListSpec } from './listQuery';
import * as listRepository from './listRepository';
import * as repository from './repository';
import type { CollectionState, PxcodeRow } from './repository';
import type { NewPxcode, PxcodeChanges } from './schema';

export interface Page {
  rows: PxcodeRow[];
  /** The collection's state these rows were read with (it may be newer than the one asked for). */
  state: CollectionState;
}

/** A keyset page: `last`, the row to continue after, is unset on the last page. */
export type KeysetPage = Page & { last: PxcodeRow | undefined };

export const collectionState = (db: Database) => repository.readState(db);

/** 404 past the last page (an empty collection still has page 1). */
function checkPageExists(page: number, perPage: number, total: number): void {
  const lastPage = Math.max(Math.ceil(total / perPage), 1);
  if (page > lastPage) {
    throw new HttpError(404, `page ${page} is past the last page (${lastPage}) at per_page=${perPage}`);
  }
}

/** A page by number, for the collection in `state`; its rows and `state` come from one snapshot. */
export async function listPage(db: Database, page: number, perPage: number, state: CollectionState): Promise<Page> {
  const offset = (page - 1) * perPage;
  checkPageExists(page, perPage, state.total);
  if (offset <= state.total / 2) {
    const found = await repository.findPage(db, perPage, offset);
    checkPageExists(page, perPage, found.state.total); // rows may have gone since the first read
    return found;
  }
  // OFFSET walks every row it skips: a page in the second half is cheaper read from the end. The
  // count and the rows then must come from one snapshot, or a concurrent write would shift them.
  return db.transaction(
    async (trx) => {
      const current = await repository.readState(trx);
      checkPageExists(page, perPage, current.total); // rows may have gone since the first read
      const end = Math.min(offset + perPage, current.total);
      return { rows: await repository.findPageFromEnd(trx, end - offset, current.total - end), state: current };
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}

/** A page read one row long: that row, if it came, says there is a next page. */
async function continued(read: Promise<Page>, perPage: number): Promise<KeysetPage> {
  const { rows, state } = await read;
  const more = rows.length > perPage;
  if (more) rows.pop();
  return { rows, state, last: more ? rows[rows.length - 1] : undefined };
}

/** A page by keyset: as fast at any depth as the first page. */
export function listAfter(db: Database, afterId: number, perPage: number): Promise<KeysetPage> {
  return continued(repository.findAfter(db, afterId, perPage + 1), perPage);
}

/**
 * A page by number of the rows that match `spec`, in its order; rows, total and version from one snapshot.
 * `state` is the collection's: no filtered total is above it, so a page past it is 404 before any OFFSET.
 */
export async function listMatchingPage(db: Database, spec: ListSpec, page: number, perPage: number, state: CollectionState): Promise<Page> {
  checkPageExists(page, perPage, state.total);
  const found = await listRepository.readMatching(db, spec, perPage, { offset: (page - 1) * perPage });
  checkPageExists(page, perPage, found.state.total);
  return found;
}

/** A page by keyset of the rows that match `spec`, in its order. */
export function listMatchingAfter(db: Database, spec: ListSpec, after: Keyset | undefined, perPage: number): Promise<KeysetPage> {
  return continued(listRepository.readMatching(db, spec, perPage + 1, { after }), perPage);
}

function notFound(pxcode: string): HttpError {
  return new HttpError(404, `pxcode '${pxcode}' was not found`);
}

export async function get(db: Database, pxcode: string): Promise<PxcodeRow> {
  const row = await repository.findByCode(db, pxcode);
  if (!row) throw notFound(pxcode);
  return row;
}

export async function create(db: Database, item: NewPxcode): Promise<PxcodeRow> {
  try {
    return await repository.insert(db, item);
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new HttpError(409, `pxcode '${item.pxcode}' already exists`);
    }
    throw error;
  }
}

/** Throws when the current row may not be written (If-Match). */
export type Precondition = (current: PxcodeRow) => void;

function checkIdentity(pxcode: string, changes: PxcodeChanges): void {
  if (changes.pxcode !== undefined && changes.pxcode !== pxcode) {
    throw new HttpError(400, `pxcode: must match the URL ('${pxcode}'); to rename, create the new code and delete the old`);
  }
}

/** The precondition is checked under a row lock: two clients with the same ETag cannot both win. */
export async function update(
  db: Database,
  pxcode: string,
  changes: PxcodeChanges,
  precondition: Precondition,
): Promise<PxcodeRow> {
  checkIdentity(pxcode, changes);
  return db.transaction(async (trx) => {
    const current = await repository.findByCodeForUpdate(trx, pxcode);
    if (!current) throw notFound(pxcode);
    precondition(current);
    if (changes.procedure === undefined) return current;
    return (await repository.update(trx, pxcode, { procedure: changes.procedure })) as PxcodeRow;
  });
}

export async function remove(db: Database, pxcode: string, precondition: Precondition): Promise<void> {
  await db.transaction(async (trx) => {
    const current = await repository.findByCodeForUpdate(trx, pxcode);
    if (!current) throw notFound(pxcode);
    precondition(current);
    await repository.remove(trx, pxcode);
  });
}
