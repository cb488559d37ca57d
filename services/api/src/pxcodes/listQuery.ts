import { createHash } from 'node:crypto';
import { z } from 'zod';
import { decodeCursor, decodeKeysetCursor, type Keyset } from '../http/cursors';
import { HttpError } from '../errors';
import { loneSurrogate, maxProcedureLength, pxcodeSchema } from './schema';
import { matchSchema, querySchema, searchOf, type Search } from './search';

export const maxPerPage = 100;
export const maxCodes = 100;

/** relevance (with q only) sorts alone, best first. */
export type SortColumn = 'pxcode' | 'procedure' | 'relevance';
export interface SortKey {
  column: SortColumn;
  descending: boolean;
}
export const fieldNames = ['procedure', 'pxcode', 'url'] as const;
export type Field = (typeof fieldNames)[number];

/** Which rows, in which order; the default order is insertion order (id). */
export interface ListSpec {
  codes?: string[];
  prefix?: string;
  search?: Search;
  /** Ends at the first pxcode key, if any: pxcode is unique, so later keys never decide. */
  sort: SortKey[];
}

/** An order without pxcode ends with id, which breaks its ties; pxcode has none. */
export const tiesById = (spec: ListSpec) => spec.sort.every((key) => key.column !== 'pxcode');

export interface ListQuery {
  page: number | undefined;
  perPage: number;
  /** Set when paging by cursor; `after` is unset at the start of a walk. */
  cursor: { after?: Keyset } | undefined;
  spec: ListSpec;
  fields: Field[] | undefined;
  /** The parameters other than paging, in a stable order, as links carry them: '' or '&name=value…'. */
  params: string;
  /** Names `spec` in its cursors; unset for the plain list (no filter, insertion order). */
  digest: string | undefined;
}

const single = (what: string) => z.string({ error: `must be a single ${what}` });

const positiveInteger = single('positive whole number')
  .regex(/^[0-9]+$/, 'must be a positive whole number')
  .transform(Number)
  .refine((n) => n >= 1, 'must be a positive whole number');

/**
 * A comma-separated list; `check` returns what is wrong with an item, given the items before it.
 * One issue at most (the first bad item), so a long bad list gets a short answer; `limit` counts distinct items.
 */
function commaList(what: string, check: (item: string, before: ReadonlySet<string>) => string | undefined, limit = Infinity) {
  return single(`comma-separated list of ${what}`).transform((text, ctx) => {
    const items = text === '' ? [] : text.split(',');
    const distinct = new Set(items).size;
    let problem: string | undefined;
    if (items.length === 0) problem = `must not be empty (a comma-separated list of ${what})`;
    else if (distinct > limit) problem = `must list at most ${limit} ${what}, not ${distinct}`;
    const before = new Set<string>();
    for (const item of items) {
      if (problem) break;
      problem = check(item, before);
      before.add(item);
    }
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    return items;
  });
}

const codeList = commaList(
  'codes',
  (code) => (pxcodeSchema.safeParse(code).success ? undefined : `'${code}' is not a code (1 to 10 letters, digits, dots, dashes or underscores)`),
  maxCodes,
);

const sortList = commaList('pxcode, procedure, -pxcode, -procedure', (key, before) => {
  if (key === 'relevance') return before.size > 0 ? 'relevance sorts alone' : undefined;
  if (before.has('relevance')) return 'relevance sorts alone';
  if (!/^-?(pxcode|procedure)$/.test(key)) return `unknown sort key '${key}' (sort by pxcode, procedure, -pxcode or -procedure; relevance with q)`;
  const column = key.replace(/^-/, '');
  return before.has(column) || before.has(`-${column}`) ? `sorts by ${column} twice` : undefined;
});

const fieldList = commaList(fieldNames.join(', '), (field, before) => {
  if (!(fieldNames as readonly string[]).includes(field)) return `unknown field '${field}' (one of ${fieldNames.join(', ')})`;
  return before.has(field) ? `names ${field} twice` : undefined;
});

const linkedParams = ['q', 'match', 'pxcode', 'pxcode_prefix', 'sort', 'fields'] as const;
const knownNames: readonly string[] = ['page', 'per_page', 'cursor', ...linkedParams];

export const rawQuery = z
  .object({
    page: positiveInteger.refine(Number.isSafeInteger, `must be at most ${Number.MAX_SAFE_INTEGER}`).optional(),
    // As in the seed, a larger per_page (however large) is capped rather than refused.
    per_page: positiveInteger.default(maxPerPage).transform((n) => Math.min(n, maxPerPage)),
    // Keyset pagination: an empty cursor starts at the beginning; `next` links carry the rest.
    cursor: single('cursor').optional(),
    q: querySchema.optional(),
    match: matchSchema.optional(),
    pxcode: codeList.optional(),
    pxcode_prefix: single('code prefix').regex(/^[A-Za-z0-9._-]{1,10}$/, 'must be 1 to 10 letters, digits, dots, dashes or underscores').optional(),
    sort: sortList.optional(),
    fields: fieldList.optional(),
  })
  .superRefine((raw, ctx) => {
    const issue = (name: string, message: string) => ctx.addIssue({ code: 'custom', message, path: [name] });
    if (raw.match !== undefined && raw.q === undefined) issue('match', 'needs q (the words to match)');
    if (raw.sort?.includes('relevance') && raw.q === undefined) issue('sort', 'relevance needs q (the words to rank by)');
  });

type RawQuery = z.infer<typeof rawQuery>;

function specOf(raw: RawQuery): ListSpec {
  const search = raw.q === undefined ? undefined : searchOf(raw.q.text, raw.q.words, raw.match === 'fuzzy');
  const keys = (raw.sort ?? (search ? ['relevance'] : [])).map((key) => ({ column: key.replace(/^-/, '') as SortColumn, descending: key.startsWith('-') || key === 'relevance' }));
  const code = keys.findIndex((key) => key.column === 'pxcode');
  return { codes: raw.pxcode, prefix: raw.pxcode_prefix, search, sort: code === -1 ? keys : keys.slice(0, code + 1) };
}

/** The parameters as sent (q %-escaped; the others are checked to need no escaping), for the links. */
function paramsOf(raw: RawQuery): string {
  const value = (name: (typeof linkedParams)[number]) => {
    const given = raw[name];
    if (name === 'q') return encodeURIComponent(raw.q!.text);
    return Array.isArray(given) ? given.join(',') : given;
  };
  return linkedParams.map((name) => (raw[name] === undefined ? '' : `&${name}=${value(name)}`)).join('');
}

function digestOf(spec: ListSpec): string | undefined {
  if (!spec.codes && spec.prefix === undefined && !spec.search && spec.sort.length === 0) return undefined;
  // Without a search, the digest is what it was before q existed: cursors given out then still work.
  const named = spec.search ? [spec.codes, spec.prefix, spec.sort, spec.search.q, spec.search.fuzzy] : [spec.codes, spec.prefix, spec.sort];
  return createHash('sha256').update(JSON.stringify(named)).digest('base64url').slice(0, 16);
}

const notACursor = 'is not a cursor from a next link';
const otherList = 'was made for a different sort or filter; start again with cursor=';

/** Within PostgreSQL's real (a score the database wrote always is): no overflow, no underflow to 0. */
const fitsReal = (n: number) => Number.isFinite(Math.fround(n)) && (Math.fround(n) !== 0 || n === 0);

/** A value a row could hold in `column`: a forged cursor's value never reaches PostgreSQL. */
function fitsColumn(value: string, column: SortColumn): boolean {
  if (column === 'pxcode') return pxcodeSchema.safeParse(value).success;
  if (column === 'relevance') return /^-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?$/.test(value) && value.length <= 32 && fitsReal(Number(value));
  return value.length <= maxProcedureLength && !value.includes('\0') && !loneSurrogate.test(value);
}

/** Where a cursor continues, or why it cannot: it is only good for the sort and filters it was made for. */
function positionOf(cursor: string, spec: ListSpec, digest: string | undefined): { after?: Keyset } | string {
  if (cursor === '') return digest === undefined ? { after: { values: [], id: 0 } } : {};
  const afterId = decodeCursor(cursor);
  const keyed = decodeKeysetCursor(cursor);
  if (afterId === undefined && !keyed) return notACursor;
  if (digest === undefined) return afterId === undefined ? otherList : { after: { values: [], id: afterId } };
  if (!keyed || keyed.digest !== digest) return otherList;
  const { values, id } = keyed.keyset;
  const fits = values.length === spec.sort.length && values.every((value, i) => fitsColumn(value, spec.sort[i]!.column));
  return fits && (id !== undefined) === tiesById(spec) ? { after: keyed.keyset } : notACursor;
}

const listQuery = rawQuery.transform((raw, ctx): ListQuery => {
  const spec = specOf(raw);
  const digest = digestOf(spec);
  let cursor: ListQuery['cursor'];
  if (raw.cursor !== undefined) {
    const position = raw.page === undefined ? positionOf(raw.cursor, spec, digest) : 'cannot be combined with page';
    if (typeof position === 'string') ctx.addIssue({ code: 'custom', message: position, path: ['cursor'] });
    else cursor = position;
  }
  return { page: raw.page, perPage: raw.per_page, cursor, spec, fields: raw.fields as Field[] | undefined, params: paramsOf(raw), digest };
});

/** The list's parameters; names are judged first, as zod passes over some (`__proto__`). */
export function parseListQuery(query: Record<string, unknown>): ListQuery {
  const unknown = Object.keys(query).filter((name) => !knownNames.includes(name));
  if (unknown.length > 0) {
    const why = `is not a parameter of this list (${knownNames.join(', ')})`;
    throw new HttpError(400, unknown.map((name) => `${name === '' ? '(empty name)' : name}: ${why}`).join('; '));
  }
  return listQuery.parse(query);
}
