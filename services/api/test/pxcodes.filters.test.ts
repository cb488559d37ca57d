import type { Server } from 'node:http';
import request from 'supertest';
import * as procedureOrder from '../src/db/migrations/20261203010000_pxcodes_procedure_order';
import * as search from '../src/db/migrations/20261203020000_pxcodes_search';
import { countQuery, findMatching } from '../src/pxcodes/listRepository';
import type { ListSpec } from '../src/pxcodes/listQuery';
import {
  buildTestApp,
  expectError,
  LogCapture,
  sampleDataFixture,
  userAuth as auth,
  pagesDisagreeingUnderWrites,
} from './helpers';

const sample = sampleDataFixture();
let app: ReturnType<typeof buildTestApp>['app'];
const base = 'http://localhost:5000/api/v1.0/pxcodes/';

// Rows with equal procedures (ties for sort=procedure) and codes that a LIKE without escapes would confuse.
const extra = [
  { pxcode: 'A_1', procedure: 'SAME PROCEDURE' },
  { pxcode: 'AB1', procedure: 'SAME PROCEDURE' },
  { pxcode: 'A_2', procedure: 'SAME PROCEDURE' },
  { pxcode: 'AB2', procedure: 'TRANSIENT ISCHEMIA' },
];

beforeAll(async () => {
  await sample.db('starter_pxcodes').insert(extra);
  ({ app } = buildTestApp(sample.db, { publicUrl: 'http://localhost:5000' }));
});

const list = (query: string) => request(app).get(`/api/v1.0/pxcodes/${query}`).auth(...auth);
const codes = (res: { body: { items: { pxcode: string }[] } }) => res.body.items.map((item) => item.pxcode);
const follow = (url: string) => request(app).get(new URL(url).pathname + new URL(url).search).auth(...auth);

/** The codes in the order PostgreSQL sorts them, as the API promises: the keys, then id in the last key's direction. */
async function expectedOrder(orderBy: string, where = 'true'): Promise<string[]> {
  return (await sample.db.raw(`select pxcode from starter_pxcodes where ${where} order by ${orderBy}`)).rows.map((row: { pxcode: string }) => row.pxcode);
}

describe('GET /api/v1.0/pxcodes/ with pxcode= and pxcode_prefix=', () => {
  test('when pxcode lists codes, then exactly those come, in insertion order, with an exact total', async () => {
    const res = await list('?pxcode=064,039,057,039,NOPE');
    expect(res.status).toBe(200);
    expect(codes(res)).toEqual(['039', '057', '064']);
    expect(res.body.meta).toEqual({
      first: `${base}?per_page=100&pxcode=064,039,057,039,NOPE&page=1`,
      last: `${base}?per_page=100&pxcode=064,039,057,039,NOPE&page=1`,
      next: null,
      page: 1,
      pages: 1,
      per_page: 100,
      prev: null,
      total: 3,
    });
    expect(res.body.items[0]).toEqual({ procedure: 'EXTRACRANIAL PROCEDURES W/O CC/MCC', pxcode: '039', url: `${base}039` });
  });

  test('when asked as docs/api.md shows, then the answer it shows', async () => {
    const res = await list('?pxcode=039,057,064&fields=pxcode,procedure');
    const link = `${base}?per_page=100&pxcode=039,057,064&fields=pxcode,procedure&page=1`;
    expect(res.body).toEqual({
      items: [
        { procedure: 'EXTRACRANIAL PROCEDURES W/O CC/MCC', pxcode: '039' },
        { procedure: 'DEGENERATIVE NERVOUS SYSTEM DISORDERS W/O MCC', pxcode: '057' },
        { procedure: 'INTRACRANIAL HEMORRHAGE OR CEREBRAL INFARCTION W MCC', pxcode: '064' },
      ],
      meta: { first: link, last: link, next: null, page: 1, pages: 1, per_page: 100, prev: null, total: 3 },
    });
  });

  test('when 100 codes are listed, then they are answered; when no code exists, then an empty page 1 with pages 0', async () => {
    const hundred = Array.from({ length: 100 }, (_, i) => (i < 50 ? '039' : `X${i}`)).join(',');
    expect(codes(await list(`?pxcode=${hundred}`))).toEqual(['039']);
    // Duplicates count once, toward the 100 too.
    expect(codes(await list(`?pxcode=${hundred},${hundred},057`))).toEqual(['039', '057']);
    const none = await list('?pxcode=NOPE');
    expect(none.body.items).toEqual([]);
    expect(none.body.meta).toMatchObject({ total: 0, pages: 0, page: 1, next: null });
  });

  test('when pxcode_prefix is given, then the codes that start with it; _ and % are plain characters', async () => {
    expect(codes(await list('?pxcode_prefix=06'))).toEqual(['064', '065', '066', '069']);
    expect(codes(await list('?pxcode_prefix=A_'))).toEqual(['A_1', 'A_2']);
    expect(codes(await list('?pxcode_prefix=A'))).toEqual(['A_1', 'AB1', 'A_2', 'AB2']);
    expect((await list('?pxcode_prefix=06&pxcode=064,101')).body.meta.total).toBe(1);
  });

  test('when filtering by prefix or sorting by procedure, then PostgreSQL uses an index (not a scan of the table)', async () => {
    const plan = async (spec: ListSpec, count = false) =>
      sample.db.transaction(async (trx) => {
        await trx.raw('set local enable_seqscan = off');
        const after = { values: ['M', '1'].slice(0, spec.sort.length), id: 1 };
        const { sql, bindings } = (count ? countQuery(trx, spec) : findMatching(trx, spec, 10, { after })).toSQL();
        return (await trx.raw(`explain ${sql}`, bindings)).rows.map((row: { 'QUERY PLAN': string }) => row['QUERY PLAN']).join('\n');
      });
    // A prefix is a range of the unique index: >= '03' and < '04'.
    expect(await plan({ prefix: '03', sort: [] }, true)).toMatch(/Index.* starter_pxcodes_pxcode_unique[\s\S]*Index Cond: .*>= '03'/);
    expect(await plan({ prefix: '03', sort: [{ column: 'pxcode', descending: false }] })).toMatch(/Index Scan using starter_pxcodes_pxcode_unique[\s\S]*>= '03'/);
    expect(await plan({ sort: [{ column: 'procedure', descending: false }] })).toMatch(/Index Scan using starter_pxcodes_procedure_id/);
    expect(await plan({ sort: [{ column: 'procedure', descending: true }] })).toMatch(/Index Scan Backward using starter_pxcodes_procedure_id/);
    expect(await plan({ sort: [{ column: 'pxcode', descending: false }] })).toMatch(/Index Scan using starter_pxcodes_pxcode_unique/);
    // Mixed directions: the index on the first key starts at the cursor rather than at its first entry.
    const mixed = (descending: boolean) => [{ column: 'procedure' as const, descending }, { column: 'pxcode' as const, descending: !descending }];
    expect(await plan({ sort: mixed(false) })).toMatch(/starter_pxcodes_procedure_id[\s\S]*Index Cond: \(procedure >= 'M'/);
    expect(await plan({ sort: mixed(true) })).toMatch(/starter_pxcodes_procedure_id[\s\S]*Index Cond: \(procedure <= 'M'/);
  });
});

describe('the (procedure, id) index migration', () => {
  test('when it runs, then it waits at most 10 s for the table lock, so writes never queue long behind it', async () => {
    const trx = await sample.db.transaction();
    try {
      await search.down(trx); // the later migration's column is made from procedure
      await procedureOrder.down(trx);
      await procedureOrder.up(trx);
      await search.up(trx);
      expect((await trx.raw('show lock_timeout')).rows[0].lock_timeout).toBe('10s');
    } finally {
      await trx.rollback();
    }
  });
});

describe('GET /api/v1.0/pxcodes/ with sort= and fields=', () => {
  test.each([
    ['pxcode', 'pxcode, id'],
    ['-pxcode', 'pxcode desc, id desc'],
    ['procedure', 'procedure, id'],
    ['-procedure', 'procedure desc, id desc'],
    ['procedure,-pxcode', 'procedure, pxcode desc, id desc'],
    ['-procedure,pxcode', 'procedure desc, pxcode, id'],
  ])('when sort=%s, then the rows come in that order, ties by id', async (sort, orderBy) => {
    const res = await list(`?sort=${sort}`);
    expect(res.status).toBe(200);
    expect(res.body.meta.total).toBe(104);
    expect(codes(res)).toEqual((await expectedOrder(orderBy)).slice(0, 100));
  });

  test('when sort=pxcode, then codes come byte by byte; sort=procedure keeps equal procedures in insertion order', async () => {
    const all = codes(await list('?sort=pxcode&per_page=100&pxcode_prefix=A'));
    expect(all).toEqual(['AB1', 'AB2', 'A_1', 'A_2']);
    expect(codes(await list('?sort=procedure&pxcode_prefix=A'))).toEqual(['A_1', 'AB1', 'A_2', 'AB2']);
    expect(codes(await list('?sort=-procedure&pxcode_prefix=A'))).toEqual(['AB2', 'A_2', 'AB1', 'A_1']);
  });

  test('when sort=procedure, then procedures come in code point order (the C collation), whatever the server locale', async () => {
    const column = await sample.db.raw("select collation_name from information_schema.columns where table_name = 'starter_pxcodes' and column_name = 'procedure'");
    expect(column.rows[0].collation_name).toBe('C');
    const first = await list('?sort=procedure');
    const second = await list('?sort=procedure&page=2');
    const procedures = [...first.body.items, ...second.body.items].map((item: { procedure: string }) => item.procedure);
    expect(procedures).toHaveLength(104);
    expect(procedures).toEqual([...procedures].sort()); // JS compares UTF-16 units: code point order for this text
  });

  test.each([
    ['pxcode', ['pxcode']],
    ['url,procedure', ['procedure', 'url']],
    ['pxcode,url,procedure', ['procedure', 'pxcode', 'url']],
  ])('when fields=%s, then items carry only those, in the seed key order, and links carry fields', async (fields, keys) => {
    const res = await list(`?fields=${fields}&per_page=10`);
    expect(res.status).toBe(200);
    for (const item of res.body.items) expect(Object.keys(item)).toEqual(keys);
    expect(res.body.meta.next).toBe(`${base}?per_page=10&fields=${fields}&page=2`);
  });
});

describe('paging filtered and sorted lists', () => {
  const params = 'pxcode_prefix=1&sort=-procedure,pxcode&fields=pxcode,procedure';

  test('when walking by page number, then every link carries every parameter in a stable order, and the pages add up', async () => {
    const expected = await expectedOrder('procedure desc, pxcode, id', "pxcode like '1%'");
    const seen: string[] = [];
    let res = await list(`?fields=pxcode,procedure&sort=-procedure,pxcode&per_page=7&pxcode_prefix=1`);
    const linkTo = (page: number) => `${base}?per_page=7&${params}&page=${page}`;
    const pages = Math.ceil(expected.length / 7);
    for (let page = 1; ; page++) {
      expect(res.status).toBe(200);
      expect(res.body.meta).toEqual({
        first: linkTo(1),
        last: linkTo(pages),
        next: page < pages ? linkTo(page + 1) : null,
        page,
        pages,
        per_page: 7,
        prev: page > 1 ? linkTo(page - 1) : null,
        total: expected.length,
      });
      for (const url of [res.body.meta.first, res.body.meta.last]) expect(res.headers.link).toContain(`<${url}>`);
      seen.push(...codes(res));
      if (!res.body.meta.next) break;
      res = await follow(res.body.meta.next);
    }
    expect(seen).toEqual(expected);
  });

  test('when a page past the end of the filtered set is asked for, then 404 names its last page', async () => {
    const res = await list('?pxcode_prefix=06&per_page=2&page=3');
    expectError(res, 404, 'Not Found', 'page 3 is past the last page (2) at per_page=2');
  });

  test('when a sorted or filtered page is past the whole collection, then 404 before any rows are read', async () => {
    for (const query of ['?sort=procedure&page=9007199254740991', '?pxcode_prefix=0&sort=-pxcode&per_page=10&page=12']) {
      const sql = (await queriesOf(query, 404)).join('\n');
      expect(sql).not.toMatch(/offset|from "starter_pxcodes"/i);
    }
    const res = await list('?sort=procedure&page=9007199254740991');
    expectError(res, 404, 'Not Found', 'page 9007199254740991 is past the last page (2) at per_page=100');
  });

  test.each([
    ['pxcode', 'pxcode, id', 'true'],
    ['-pxcode', 'pxcode desc, id desc', 'true'],
    ['procedure', 'procedure, id', 'true'],
    ['-procedure', 'procedure desc, id desc', 'true'],
    ['procedure,-pxcode', 'procedure, pxcode desc, id desc', 'true'],
    ['-procedure,pxcode', 'procedure desc, pxcode, id', 'true'],
    ['-procedure&pxcode_prefix=1', 'procedure desc, id desc', "pxcode like '1%'"],
    ['-pxcode,procedure', 'pxcode desc', 'true'],
  ])('when walking by cursor with sort=%s, then every row comes once, in order, each link carrying the parameters', async (sort, orderBy, where) => {
    const expected = await expectedOrder(orderBy, where);
    const seen: string[] = [];
    let res = await list(`?sort=${sort}&per_page=3&cursor=`);
    for (;;) {
      expect(res.status).toBe(200);
      expect(res.body.meta).toMatchObject({ page: null, prev: null, total: expected.length, pages: Math.ceil(expected.length / 3) });
      const links = [res.body.meta.first, res.body.meta.last, res.body.meta.next].filter(Boolean) as string[];
      for (const url of links) {
        expect(url).toContain(`?per_page=3&${sort.includes('&') ? `pxcode_prefix=1&sort=-procedure` : `sort=${sort}`}&`);
        expect(res.headers.link).toContain(`<${url}>`);
      }
      seen.push(...codes(res));
      if (!res.body.meta.next) break;
      res = await follow(res.body.meta.next);
    }
    expect(seen).toEqual(expected);
  });

  test('when the sort has pxcode (unique), then the order and the cursor stop at it: no later key, no id', async () => {
    const sql = (await queriesOf('?sort=-pxcode,procedure&per_page=2&cursor=')).join('\n');
    expect(sql).toMatch(/order by "pxcode" desc limit/i);
    expect(sql).not.toMatch(/"id" (asc|desc)|"procedure" (asc|desc)/i);
    const first = await list('?sort=procedure,-pxcode&per_page=2&cursor=');
    const cursor = new URL(first.body.meta.next).searchParams.get('cursor') as string;
    const [, id, ...values] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8').slice(3)) as unknown[];
    expect([id, ...values]).toEqual([null, first.body.items[1].procedure, first.body.items[1].pxcode]);
    const second = await list(`?sort=procedure,-pxcode&per_page=2&cursor=${cursor}`);
    expect([...codes(first), ...codes(second)]).toEqual((await expectedOrder('procedure, pxcode desc')).slice(0, 4));
  });

  test('when per_page changes along a walk, then the cursor still continues', async () => {
    const first = await list('?sort=procedure&per_page=10&cursor=');
    const next = new URL(first.body.meta.next).searchParams.get('cursor');
    const second = await list(`?sort=procedure&per_page=5&cursor=${next}`);
    expect([...codes(first), ...codes(second)]).toEqual((await expectedOrder('procedure, id')).slice(0, 15));
  });

  test('when a cursor is used with another sort or filter than it was made for, then 400 names cursor', async () => {
    const made = await list('?sort=procedure&per_page=10&cursor=');
    const cursor = new URL(made.body.meta.next).searchParams.get('cursor') as string;
    const plain = new URL((await list('?per_page=10&cursor=')).body.meta.next).searchParams.get('cursor') as string;
    const message = 'cursor: was made for a different sort or filter; start again with cursor=';
    for (const query of [`sort=-procedure&cursor=${cursor}`, `sort=procedure&pxcode_prefix=1&cursor=${cursor}`, `cursor=${cursor}`, `sort=procedure&cursor=${plain}`]) {
      expectError(await list(`?${query}`), 400, 'Bad Request', message);
    }
    expectError(await list(`?sort=procedure&cursor=${cursor.slice(0, -2)}`), 400, 'Bad Request', 'cursor: is not a cursor from a next link');
  });

  test('when a cursor is forged with a value no row can hold, then 400 names cursor before PostgreSQL sees it', async () => {
    const made = await list('?sort=procedure,-pxcode&per_page=10&cursor=');
    const cursor = new URL(made.body.meta.next).searchParams.get('cursor') as string;
    const [digest] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8').slice(3)) as string[];
    const forge = (...values: string[]) => Buffer.from(`v2:${JSON.stringify([digest, null, ...values])}`, 'utf8').toString('base64url');
    expect((await list(`?sort=procedure,-pxcode&cursor=${forge('M', '039')}`)).status).toBe(200);
    for (const values of [['M\0', '039'], ['\ud83e', '039'], ['M'.repeat(5000), '039'], ['M', 'a*b'], ['M', ''], ['M', '0'.repeat(11)]]) {
      expectError(await list(`?sort=procedure,-pxcode&cursor=${forge(...values)}`), 400, 'Bad Request', 'cursor: is not a cursor from a next link');
    }
  });
});

describe('a filtered page and its total under concurrent writes', () => {
  test('when rows come and go while filtered and sorted pages are read, then each page agrees with its total', async () => {
    const queries = ['?pxcode_prefix=W', '?pxcode_prefix=W&sort=procedure&cursor=', '?sort=-pxcode', '?sort=procedure&cursor=', '?pxcode=C1,W0-0,W1-1'];
    expect(await pagesDisagreeingUnderWrites(queries)).toEqual([]);
  });
});

/** The SQL a request sends to PostgreSQL. */
async function queriesOf(query: string, status = 200): Promise<string[]> {
  const seen: string[] = [];
  const listener = (data: { sql: string }) => seen.push(data.sql);
  sample.db.on('query', listener);
  try {
    expect((await list(query)).status).toBe(status);
  } finally {
    sample.db.off('query', listener);
  }
  return seen;
}

describe('what a list counts', () => {

  test('when no filter is given, then no count runs (the state row has the total); a filter counts its rows', async () => {
    for (const query of ['?fields=pxcode&per_page=10&page=2', '?fields=pxcode&per_page=10&cursor=', '?sort=-procedure&page=2&per_page=10']) {
      expect((await queriesOf(query)).join('\n')).not.toMatch(/count\(/i);
    }
    expect((await queriesOf('?pxcode_prefix=1&per_page=10&page=2')).join('\n')).toMatch(/count\(/i);
  });

  test('when pxcode lists no more codes than a page holds, then page 1 (or the start of a walk) counts nothing: its rows are the total', async () => {
    for (const query of ['?pxcode=064,039,057,039,NOPE&per_page=4', '?pxcode=064,039,057,039,NOPE&per_page=4&cursor=', '?pxcode=064,039,NOPE&q=procedures']) {
      expect((await queriesOf(query)).join('\n')).not.toMatch(/count\(/i);
    }
    expect((await list('?pxcode=064,039,057,039,NOPE&per_page=4')).body.meta.total).toBe(3);
    expect((await list('?pxcode=064,039,057,039,NOPE&per_page=4&cursor=')).body.meta.total).toBe(3);
    expect((await list('?pxcode=064,039,NOPE&q=procedures')).body.meta.total).toBe(1);
    // More codes than the page holds: the page cannot tell, so it counts.
    expect((await queriesOf('?pxcode=064,039,057&per_page=2')).join('\n')).toMatch(/count\(/i);
    expect((await list('?pxcode=064,039,057&per_page=2')).body.meta.total).toBe(3);
    expect((await list('?pxcode=064,039,057&per_page=2&page=2')).body.meta.total).toBe(3);
  });
});

describe('bad list parameters', () => {
  const known = 'page, per_page, cursor, q, match, pxcode, pxcode_prefix, sort, fields';
  test.each([
    ['foo=1', `foo: is not a parameter of this list (${known})`],
    ['per_page=5&Sort=pxcode', `Sort: is not a parameter of this list (${known})`],
    ['__proto__=1', `__proto__: is not a parameter of this list (${known})`],
    ['=x&per_page=5', `(empty name): is not a parameter of this list (${known})`],
    ['foo=1&sort=name&bar=2', `foo: is not a parameter of this list (${known}); bar: is not a parameter of this list (${known})`],
    ['sort=name', "sort: unknown sort key 'name' (sort by pxcode, procedure, -pxcode or -procedure; relevance with q)"],
    ['sort=pxcode,-pxcode', 'sort: sorts by pxcode twice'],
    ['sort=', 'sort: must not be empty (a comma-separated list of pxcode, procedure, -pxcode, -procedure)'],
    ['sort=pxcode&sort=procedure', 'sort: must be a single comma-separated list of pxcode, procedure, -pxcode, -procedure'],
    ['fields=', 'fields: must not be empty (a comma-separated list of procedure, pxcode, url)'],
    ['fields=id', "fields: unknown field 'id' (one of procedure, pxcode, url)"],
    ['fields=url,url', 'fields: names url twice'],
    ['fields=url&fields=pxcode', 'fields: must be a single comma-separated list of procedure, pxcode, url'],
    ['pxcode=', 'pxcode: must not be empty (a comma-separated list of codes)'],
    ['pxcode=039,a*b', "pxcode: 'a*b' is not a code (1 to 10 letters, digits, dots, dashes or underscores)"],
    ['pxcode=039&pxcode=057', 'pxcode: must be a single comma-separated list of codes'],
    [`pxcode=${Array.from({ length: 101 }, (_, i) => `C${i}`).join(',')},C0`, 'pxcode: must list at most 100 codes, not 101'],
    ['pxcode=039,a*b,c*d,a*b', "pxcode: 'a*b' is not a code (1 to 10 letters, digits, dots, dashes or underscores)"],
    ['sort=a,b,c', "sort: unknown sort key 'a' (sort by pxcode, procedure, -pxcode or -procedure; relevance with q)"],
    ['pxcode_prefix=', 'pxcode_prefix: must be 1 to 10 letters, digits, dots, dashes or underscores'],
    ['pxcode_prefix=0%25', 'pxcode_prefix: must be 1 to 10 letters, digits, dots, dashes or underscores'],
    ['pxcode_prefix=0&pxcode_prefix=1', 'pxcode_prefix: must be a single code prefix'],
  ])('when the query is %s, then 400 names the parameter', async (query, message) => {
    expectError(await list(`?${query}`), 400, 'Bad Request', message);
  });

  test('when pxcode lists thousands of bad codes, then one short issue: the count is judged before the codes', async () => {
    const many = Array.from({ length: 1500 }, (_, i) => `x*${i}`).join(',');
    expectError(await list(`?pxcode=${many}`), 400, 'Bad Request', 'pxcode: must list at most 100 codes, not 1500');
    const same = await list(`?pxcode=${'x*,'.repeat(3000)}x*`);
    expectError(same, 400, 'Bad Request', "pxcode: 'x*' is not a code (1 to 10 letters, digits, dots, dashes or underscores)");
  });
});

describe('cached answers and ETags of filtered pages', () => {
  let server: Server;
  let logs: LogCapture;
  beforeAll(async () => {
    const built = buildTestApp(sample.db);
    server = await sample.listening(built.app);
    logs = built.logs;
  });
  let counter = 0;
  const get = (url: string) => {
    const id = `filters-${++counter}`;
    return { id, test: request(server).get(url).set('X-Request-Id', id).auth(...auth) };
  };
  const wasCached = (id: string) =>
    logs.lines.some((line) => (line.req as { id?: string } | undefined)?.id === id && line.msg === 'request completed' && line.cached === true);

  test('when a filtered page is asked for again, then it comes from the cache; If-None-Match gets 304; a write makes it stale', async () => {
    const url = '/api/v1.0/pxcodes/?pxcode_prefix=C&sort=-pxcode&fields=pxcode&per_page=2';
    const first = get(url);
    const firstRes = await first.test;
    const again = get(url);
    const againRes = await again.test;
    expect(wasCached(first.id)).toBe(false);
    expect(wasCached(again.id)).toBe(true);
    expect(againRes.body).toEqual(firstRes.body);
    const revalidated = await get(url).test.set('If-None-Match', firstRes.headers.etag as string);
    expect(revalidated.status).toBe(304);
    expect(againRes.headers.link).toBe(firstRes.headers.link);

    await request(server).post('/api/v1.0/pxcodes/').auth(...auth).send({ pxcode: 'CZ9', procedure: 'X' }).expect(201);
    const after = get(url);
    const afterRes = await after.test.set('If-None-Match', firstRes.headers.etag as string);
    expect(wasCached(after.id)).toBe(false);
    expect(afterRes.status).toBe(200);
    expect(afterRes.body.items).toEqual([{ pxcode: 'CZ9' }]);
    expect(afterRes.body.meta.total).toBe(firstRes.body.meta.total + 1);
    await request(server).delete('/api/v1.0/pxcodes/CZ9').auth(...auth).expect(204);
  });
});
