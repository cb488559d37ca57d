import type { Knex } from 'knex';
import type { Database } from '../db/database';
import type { Keyset } from '../http/cursors';
import { tiesById, type ListSpec } from './listQuery';
import { withState, type CollectionState, type OrderKey, type PxcodeRow } from './repository';
import { escapeLike, searched } from './searchQuery';

const table = 'starter_pxcodes';
const columns = ['id', 'pxcode', 'procedure'] as const;

/** The rows that match, as a builder over starter_pxcodes (searched: with a relevance column). */
export function matching(db: Database, spec: ListSpec): Knex.QueryBuilder {
  const query: Knex.QueryBuilder = spec.search ? searched(db, spec.search) : db<PxcodeRow>(table);
  if (spec.codes) query.whereIn('pxcode', [...new Set(spec.codes)]);
  if (spec.prefix !== undefined) query.whereRaw("pxcode LIKE ? ESCAPE '\\'", [`${escapeLike(spec.prefix)}%`]);
  return query;
}

/** The sort's columns, then id when it breaks ties, in the last key's direction (so one index serves both ways). */
export function orderOf(spec: ListSpec): OrderKey[] {
  if (!tiesById(spec)) return spec.sort;
  const last = spec.sort[spec.sort.length - 1];
  return [...spec.sort, { column: 'id', descending: last?.descending ?? false }];
}

/** Rows after `after` in `order`: one row comparison when all keys run one way, else key by key. */
function whereAfter(query: Knex.QueryBuilder, order: OrderKey[], after: Keyset): void {
  const values = order.map((key, i) => (key.column === 'id' ? (after.id ?? 0) : (after.values[i] ?? '')));
  if (order.every((key) => key.descending === order[0]!.descending)) {
    const names = order.map((key) => `"${key.column}"`).join(', ');
    query.whereRaw(`(${names}) ${order[0]!.descending ? '<' : '>'} (${values.map(() => '?').join(', ')})`, values);
    return;
  }
  // (a > x) OR (a = x AND (b < y OR (b = y AND id > z))) ...
  const clause = (i: number): [string, unknown[]] => {
    const { column, descending } = order[i]!;
    const beyond = `"${column}" ${descending ? '<' : '>'} ?`;
    if (i === order.length - 1) return [beyond, [values[i]]];
    const [rest, restValues] = clause(i + 1);
    return [`(${beyond} OR ("${column}" = ? AND ${rest}))`, [values[i], values[i], ...restValues]];
  };
  const [sql, bindings] = clause(0);
  // Implied by the chain, but only this bound lets an index scan on the first key start at the cursor.
  query.whereRaw(`"${order[0]!.column}" ${order[0]!.descending ? '<=' : '>='} ?`, [values[0]!]);
  query.whereRaw(sql, bindings as Knex.Value[]);
}

/** A query (not yet run, so its plan can be shown) for a page of the rows that match `spec`. */
export function findMatching(db: Database, spec: ListSpec, limit: number, position: { offset: number } | { after?: Keyset }): Knex.QueryBuilder<PxcodeRow, PxcodeRow[]> {
  const order = orderOf(spec);
  const ranked = order.some((key) => key.column === 'relevance');
  const query = matching(db, spec).select<PxcodeRow[]>(...columns, ...(ranked ? ['relevance'] : [])).limit(limit);
  for (const key of order) query.orderBy(key.column, key.descending ? 'desc' : 'asc');
  if ('offset' in position) query.offset(position.offset);
  else if (position.after) whereAfter(query, order, position.after);
  return query;
}

export const countQuery = (db: Database, spec: ListSpec) => matching(db, spec).count({ count: '*' });

/**
 * A page of a search in relevance order and its count, from one pass over the matches: each match
 * adds its id and score to two arrays, and the page is ranked from them. count(*) OVER () kept
 * every whole match in a tuplestore that spilled to disk past work_mem (a common word: a third of
 * the time). The arrays are in the backend's memory (about 40 bytes a match while they grow), so
 * they take at most `cap` + 1 matches: more, and nothing is ranked (`matched` comes back alone) and
 * the caller counts another way. The page's rows are then read by id. OFFSET 0 keeps the aggregate
 * serial: its parallel plan was twice as slow.
 */
function rankedPage(db: Database, spec: ListSpec, limit: number, offset: number, cap: number): Knex.Raw {
  const { sql, bindings } = matching(db, spec).select('id', 'relevance').toSQL();
  return db.raw(
    `SELECT t.id, t.pxcode, t.procedure, k.relevance, c.matched
       FROM (SELECT count(*) AS matched, array_agg(id) AS ids, array_agg(relevance) AS scores FROM (SELECT * FROM (${sql} OFFSET 0) m0 LIMIT ?) m) c
       LEFT JOIN LATERAL (SELECT unnest(c.ids) AS id, unnest(c.scores) AS relevance WHERE c.matched <= ? ORDER BY 2 DESC, 1 DESC LIMIT ? OFFSET ?) k ON true
       LEFT JOIN starter_pxcodes t ON t.id = k.id`,
    [...bindings, cap + 1, cap, limit, offset],
  );
}

/** The first page of at most `limit` codes holds every row that matches: its rows are the total, no count runs. */
const holdsEveryMatch = (spec: ListSpec, limit: number, position: { offset: number } | { after?: Keyset }) =>
  spec.codes !== undefined && new Set(spec.codes).size <= limit && ('offset' in position ? position.offset === 0 : position.after === undefined);

const byRelevance = (order: OrderKey[]) => order[0]?.column === 'relevance';

/**
 * A page and its total (of the rows that match) in one statement; unfiltered, the total is the state row's.
 * A search page by number counts in the scan that ranks its rows (a common word is one pass over
 * its matches, not two), even past its last row; the window count of other orders has no row to
 * carry it there, so that page asks again.
 */
export async function readMatching(
  db: Database,
  spec: ListSpec,
  limit: number,
  position: { offset: number } | { after?: Keyset },
  rankedMatchesCap = 250_000,
): Promise<{ rows: PxcodeRow[]; state: CollectionState }> {
  const filtered = spec.codes !== undefined || spec.prefix !== undefined || spec.search !== undefined;
  const order = orderOf(spec);
  if (holdsEveryMatch(spec, limit, position)) {
    const found = await withState(db, findMatching(db, spec, limit, position), order);
    return { rows: found.rows, state: { ...found.state, total: found.rows.length } };
  }
  if (spec.search && 'offset' in position) {
    const ranked = byRelevance(order) ? await withState(db, rankedPage(db, spec, limit, position.offset, rankedMatchesCap), order, 'window') : undefined;
    // Past the cap, the window count, which spills to disk instead of growing in memory: a second
    // pass, the price of bounded memory.
    const windowed = () => withState(db, findMatching(db, spec, limit, position).select(db.raw('count(*) OVER () AS matched')), order, 'window');
    const found = ranked && ranked.state.total <= rankedMatchesCap ? ranked : await windowed();
    if (found.rows.length > 0 || position.offset === 0 || found === ranked) return found;
  }
  return withState(db, findMatching(db, spec, limit, position), order, filtered ? countQuery(db, spec).toSQL() : undefined);
}
