import type { Database } from '../db/database';
import { encodeCursor, encodeKeysetCursor, type Keyset } from '../http/cursors';
import { cursorMeta, pageMeta, type PageMeta } from '../http/links';
import { tiesById, type ListQuery, type ListSpec } from './listQuery';
import type { CollectionState, PxcodeRow } from './repository';
import * as service from './service';

export interface ListAnswer {
  rows: PxcodeRow[];
  meta: PageMeta;
  /** The collection version the rows belong to. */
  version: string;
}

// The plain list (no filter, insertion order) keeps its own queries: the state row's total, and
// deep pages read from the end (docs/design.md); only filtered lists count their rows.
async function byNumber(db: Database, url: string, query: ListQuery, state: CollectionState): Promise<ListAnswer> {
  const number = query.page ?? 1;
  const found =
    query.digest === undefined
      ? await service.listPage(db, number, query.perPage, state)
      : await service.listMatchingPage(db, query.spec, number, query.perPage, state);
  return { rows: found.rows, version: found.state.version, meta: pageMeta(url, number, query.perPage, found.state.total, query.params) };
}

type Continued = service.Page & { next: string | undefined };

async function plainAfter(db: Database, afterId: number, perPage: number): Promise<Continued> {
  const found = await service.listAfter(db, afterId, perPage);
  return { ...found, next: found.last && encodeCursor(found.last.id) };
}

/** Where a walk continues after `row`: its sort values, and its id when the order ends with id. */
function keysetOf(spec: ListSpec, row: PxcodeRow): Keyset {
  const values = spec.sort.map((key) => row[key.column] ?? '');
  return tiesById(spec) ? { values, id: row.id } : { values };
}

async function matchingAfter(db: Database, query: ListQuery, digest: string, after: Keyset | undefined): Promise<Continued> {
  const found = await service.listMatchingAfter(db, query.spec, after, query.perPage);
  const last = found.last;
  const next = last && encodeKeysetCursor(digest, keysetOf(query.spec, last));
  return { ...found, next };
}

async function byCursor(db: Database, url: string, query: ListQuery): Promise<ListAnswer> {
  const after = query.cursor?.after;
  const found = query.digest === undefined ? await plainAfter(db, after?.id ?? 0, query.perPage) : await matchingAfter(db, query, query.digest, after);
  return { rows: found.rows, version: found.state.version, meta: cursorMeta(url, query.perPage, found.state.total, found.next, query.params) };
}

/** The page `query` asks for, with its meta; `state` is the collection's, read before. */
export function readList(db: Database, url: string, query: ListQuery, state: CollectionState): Promise<ListAnswer> {
  return query.cursor ? byCursor(db, url, query) : byNumber(db, url, query, state);
}
