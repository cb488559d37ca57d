import request from 'supertest';
import * as search from '../src/db/migrations/20261203020000_pxcodes_search';
import { findMatching, readMatching } from '../src/pxcodes/listRepository';
import { parseListQuery, type ListSpec } from '../src/pxcodes/listQuery';
import { buildTestApp, expectError, sampleDataFixture, userAuth as auth } from './helpers';

const sample = sampleDataFixture();
let app: ReturnType<typeof buildTestApp>['app'];
const base = 'http://localhost:5000/api/v1.0/pxcodes/';

// Beside the seed's codes: accents, punctuation, a word inside a longer one, a number in the text,
// and a run of equal scores (ties for the relevance walk).
const extra = [
  { pxcode: 'C1', procedure: 'CAFÉ AU LAIT SPOTS' },
  { pxcode: 'C2', procedure: 'cafe, crème brûlée' },
  { pxcode: 'H1', procedure: 'WORKMANSHIP REVIEW' },
  { pxcode: 'T1', procedure: 'TYPE 19 DEVICE' },
  { pxcode: 'P1', procedure: 'PNEUMONIA' },
  { pxcode: 'P2', procedure: 'PNEUMONITIS OF THE LOWER LOBE' },
  ...Array.from({ length: 23 }, (_, i) => ({ pxcode: `W${i}`, procedure: i % 3 === 0 ? 'WALK' : `WALKING ROW ${i % 2 ? 'ODD' : 'EVEN'}` })),
];

beforeAll(async () => {
  await sample.db('starter_pxcodes').insert(extra);
  ({ app } = buildTestApp(sample.db, { publicUrl: 'http://localhost:5000' }));
});

const list = (query: string) => request(app).get(`/api/v1.0/pxcodes/${query}`).auth(...auth);
const codes = (res: { body: { items: { pxcode: string }[] } }) => res.body.items.map((item) => item.pxcode);
const sorted = (res: { body: { items: { pxcode: string }[] } }) => [...codes(res)].sort();
const follow = (url: string) => request(app).get(new URL(url).pathname + new URL(url).search).auth(...auth);

/** Codes whose procedure matches a case-insensitive SQL pattern, sorted: what a search must find. */
async function codesWhere(where: string, ...bindings: string[]): Promise<string[]> {
  return (await sample.db.raw(`select pxcode from starter_pxcodes where ${where}`, bindings)).rows.map((row: { pxcode: string }) => row.pxcode).sort();
}

describe('q= finds words in procedure, or the start of a code', () => {
  test.each([
    ['pneumon', ['193', '194', '195', 'P1', 'P2']],
    ['PNEUMONIA', ['193', '194', '195', 'P1']],
    ['hip fracture', ['536']],
    ['fracture hip', ['536']],
    ['heart shock', ['291', '292', '293']],
    ['pneumonia shock', []],
    ['cafe', ['C1', 'C2']],
    ['CAFÉ', ['C1', 'C2']],
    ['crème brulee', ['C2']],
    ['infectious o.r.', ['853']],
    ['03', ['039']],
  ])('when q is %s, then exactly the codes with every word (as part of a word) come', async (q, expected) => {
    const res = await list(`?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(200);
    expect(sorted(res)).toEqual([...expected].sort());
    expect(res.body.meta.total).toBe(expected.length);
  });

  test('when q names punctuation, then it separates words as spaces do: w/o, w o and MCC', async () => {
    const withSlash = sorted(await list('?q=w%2Fo%20cc%2Fmcc'));
    expect(withSlash).toEqual(sorted(await list('?q=w%20o%20cc%20mcc')));
    expect(withSlash).toEqual(await codesWhere("procedure ilike '%W%' and procedure ilike '%O%' and procedure like '%CC%' and procedure like '%MCC%'"));
    expect(sorted(await list('?q=MCC'))).toEqual(await codesWhere("procedure like '%MCC%'"));
  });
});

describe('relevance, the order of a search', () => {
  test('when q also starts codes, then those come first; whole words before words that only hold q', async () => {
    const codes19 = await codesWhere("pxcode like '19%'");
    expect(codes19.length).toBeGreaterThan(3);
    expect(codes(await list('?q=19')).slice(0, -1).sort()).toEqual(codes19);
    expect(codes(await list('?q=19')).slice(-1)).toEqual(['T1']);
    const hip = codes(await list('?q=hip'));
    expect(hip[hip.length - 1]).toBe('H1');
    expect(hip.slice(0, -1).sort()).toEqual(['480', '481', '482', '536', '563']);
  });

  test('when an explicit sort comes with q, then it decides the order', async () => {
    expect(codes(await list('?q=pneumonia&sort=-pxcode'))).toEqual(['P1', '195', '194', '193']);
    expect(codes(await list('?q=pneumonia&sort=relevance'))).toEqual(codes(await list('?q=pneumonia')));
  });

  test('when the walk goes by cursor in relevance order, then no row repeats or goes missing', async () => {
    const whole = await list('?q=walk&per_page=100');
    expect(whole.body.meta.total).toBe(23);
    const walked: string[] = [];
    let res = await list('?q=walk&per_page=4&cursor=');
    for (;;) {
      walked.push(...codes(res));
      if (!res.body.meta.next) break;
      expect(res.body.meta.next).toContain('q=walk');
      res = await follow(res.body.meta.next);
    }
    expect(walked).toEqual(codes(whole));
    // Whole words first (W0, W3, ...), equal scores by id, last first.
    expect(walked.slice(0, 8)).toEqual(['W21', 'W18', 'W15', 'W12', 'W9', 'W6', 'W3', 'W0']);
  });

  /**
   * readMatching's answer for a page of 8; whether it counted with the window (past the cap); how
   * many rows the ranking statement answered and how many statements ran.
   */
  async function readWatched(spec: ListSpec, offset: number, cap?: number) {
    const statements: string[] = [];
    let rankedRows: number | undefined;
    const sent = (query: { sql: string }) => statements.push(query.sql);
    const answered = (response: { rows?: unknown[] }, query: { sql: string }) => {
      if (query.sql.includes('array_agg(id)')) rankedRows = response.rows?.length;
    };
    sample.db.on('query', sent).on('query-response', answered);
    try {
      const found = await readMatching(sample.db, spec, 8, { offset }, cap);
      return { found, windowed: statements.some((sql) => sql.includes('count(*) OVER ()')), rankedRows, statements: statements.length };
    } finally {
      sample.db.removeListener('query', sent).removeListener('query-response', answered);
    }
  }

  test('when a search matches more rows than the ranked page may hold in memory, then it is counted the other way, with the same rows and total', async () => {
    const spec = parseListQuery({ q: 'walk' }).spec; // 23 matches
    for (const offset of [0, 8, 16, 40]) {
      const held = await readWatched(spec, offset);
      // Past the last row too, the ranking statement's one row (no code) carries the total: no second statement.
      expect([offset, held.windowed, held.found.state.total, held.statements]).toEqual([offset, false, 23, 1]);
      for (const cap of [5, 22, 23]) {
        const capped = await readWatched(spec, offset, cap);
        expect([offset, cap, capped.windowed, capped.found.state.total, capped.found.rows]).toEqual([offset, cap, cap < 23, 23, held.found.rows]);
        // Past the cap nothing is ranked: one row, carrying the count alone.
        if (cap < 23) expect([offset, cap, capped.rankedRows]).toEqual([offset, cap, 1]);
      }
    }
  });

  test('when pages go by number, then each has the exact total, and one past the last is 404 naming the last', async () => {
    const pages = await Promise.all([1, 2, 3].map((page) => list(`?q=walk&per_page=10&page=${page}`)));
    expect(pages.map((res) => res.body.meta.total)).toEqual([23, 23, 23]);
    expect(pages.flatMap(codes)).toEqual(codes(await list('?q=walk&per_page=100')));
    expectError(await list('?q=walk&per_page=10&page=4'), 404, 'Not Found', 'page 4 is past the last page (3) at per_page=10');
  });

  test.each(['q=walk', 'q=pneumon&match=fuzzy', 'q=19'])('when %s goes by page number and by cursor, then both give the same rows in the same order, and the exact total', async (q) => {
    const walked: string[] = [];
    let res = await list(`?${q}&per_page=3&cursor=`);
    for (; ; res = await follow(res.body.meta.next)) {
      walked.push(...codes(res));
      if (!res.body.meta.next) break;
    }
    const total = (await list(`?${q}&per_page=1`)).body.meta.total;
    expect(walked.length).toBe(total);
    const pages = await Promise.all(Array.from({ length: Math.ceil(total / 3) }, (_, i) => list(`?${q}&per_page=3&page=${i + 1}`)));
    expect(pages.flatMap(codes)).toEqual(walked);
    expect(new Set(pages.map((page) => page.body.meta.total))).toEqual(new Set([total]));
  });

  test("when a cursor is read, then it holds the score as PostgreSQL wrote it, which reads back as the same value", async () => {
    const first = await list('?q=walk&per_page=1&cursor=');
    const cursor = new URL(first.body.meta.next).searchParams.get('cursor') as string;
    const [, id, score] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8').slice(3)) as [string, number, string];
    const back = await sample.db.raw('select ?::real::text as text, ?::real = (select (2 + 0.1 / octet_length(search_text))::real from starter_pxcodes where id = ?) as same', [score, score, id]);
    expect(back.rows[0]).toEqual({ text: score, same: true });
  });
});

describe('match=fuzzy', () => {
  test('when a word is misspelt, then fuzzy still finds its codes, best first; without it, nothing', async () => {
    expect(codes(await list('?q=pnuemonia'))).toEqual([]);
    const fuzzy = codes(await list('?q=pnuemonia&match=fuzzy'));
    expect(fuzzy.slice(0, 4).sort()).toEqual(['193', '194', '195', 'P1']);
    // PNEUMONITIS is less alike than the threshold; the scores fall along the page.
    expect(fuzzy).not.toContain('P2');
    const scores = await sample.db.raw(
      "select pxcode, word_similarity('pnuemonia', search_text) as s from starter_pxcodes where pxcode = any(?)",
      [fuzzy],
    );
    const score = new Map(scores.rows.map((row: { pxcode: string; s: number }) => [row.pxcode, row.s]));
    expect(fuzzy.map((code) => score.get(code))).toEqual([...fuzzy.map((code) => score.get(code))].sort((a, b) => (b as number) - (a as number)));
    expect(sorted(await list('?q=hart%20failur&match=fuzzy')).slice(0, 3)).toEqual(['291', '292', '293']);
  });

  test('when fuzzy, then an exact part of a word still matches (beside words like it)', async () => {
    const exact = await codesWhere("procedure like '%CC%'");
    expect(sorted(await list('?q=cc&match=fuzzy&per_page=100'))).toEqual(expect.arrayContaining(exact));
  });
});

describe('q with the other parameters', () => {
  test('when q comes with pxcode_prefix, pxcode, sort and fields, then each narrows or shapes as alone', async () => {
    expect(sorted(await list('?q=pneumonia&pxcode_prefix=19'))).toEqual(['193', '194', '195']);
    expect(sorted(await list('?q=pneumonia&pxcode=195,P1,039'))).toEqual(['195', 'P1']);
    const shaped = await list('?q=pneumonia&fields=pxcode&sort=pxcode');
    expect(shaped.body.items).toEqual([{ pxcode: '193' }, { pxcode: '194' }, { pxcode: '195' }, { pxcode: 'P1' }]);
  });

  test('when a page has links, then each carries q and match (escaped) and leads on in the same search', async () => {
    const res = await list('?q=heart%20failure&match=fuzzy&per_page=1');
    const params = '&q=heart%20failure&match=fuzzy';
    expect(res.body.meta).toMatchObject({ first: `${base}?per_page=1${params}&page=1`, next: `${base}?per_page=1${params}&page=2` });
    expect(res.headers.link).toContain(`<${base}?per_page=1${params}&page=2>; rel="next"`);
    const second = await follow(res.body.meta.next);
    expect(second.body.meta.total).toBe(res.body.meta.total);
    expect(codes(second)).not.toEqual(codes(res));
  });

  test('when a code is written, then a cached search page is stale at once', async () => {
    const url = '?q=zebra';
    expect((await list(url)).body.meta.total).toBe(0);
    const etag = (await list(url)).headers.etag;
    await request(app).post('/api/v1.0/pxcodes/').auth(...auth).send({ pxcode: 'Z1', procedure: 'ZEBRA CROSSING' }).expect(201);
    const after = await list(url);
    expect(codes(after)).toEqual(['Z1']);
    expect(after.headers.etag).not.toBe(etag);
    await request(app).delete('/api/v1.0/pxcodes/Z1').auth(...auth).expect(204);
  });
});

describe('bad search parameters', () => {
  const walkCursor = async (query: string) => new URL((await list(`${query}&per_page=1&cursor=`)).body.meta.next).searchParams.get('cursor');
  test.each([
    ['q=', 'q: must not be empty (words to find in procedure, or the start of a code)'],
    ['q=%2F%20-%20.', 'q: must hold a letter or digit: spaces and punctuation alone match nothing'],
    // A combining mark alone is no word: unaccent would strip it, and '' matches every row.
    ['q=%CC%81', 'q: must hold a letter or digit: spaces and punctuation alone match nothing'],
    ['q=%CC%81%20%CC%88', 'q: must hold a letter or digit: spaces and punctuation alone match nothing'],
    [`q=${Array.from({ length: 21 }, () => 'a').join('%20')}`, 'q: must hold at most 20 words, not 21'],
    [`q=${'a'.repeat(201)}`, 'q: must be at most 200 characters'],
    ['q=a&q=b', 'q: must be a single text'],
    ['match=fuzzy', 'match: needs q (the words to match)'],
    ['q=a&match=exact', "match: must be 'fuzzy' (misspelt words still match), or left out"],
    ['sort=relevance', 'sort: relevance needs q (the words to rank by)'],
    ['q=a&sort=relevance,pxcode', 'sort: relevance sorts alone'],
    ['q=a&sort=pxcode,relevance', 'sort: relevance sorts alone'],
  ])('when the query is %s, then 400 names the parameter', async (query, message) => {
    expectError(await list(`?${query}`), 400, 'Bad Request', message);
  });

  test('when q is 200 characters, then it is a search', async () => {
    expect((await list(`?q=${'a'.repeat(200)}`)).status).toBe(200);
  });

  test('when a cursor comes from another q or match, then 400 names cursor', async () => {
    const cursor = await walkCursor('?q=walk');
    for (const other of ['q=walking', 'q=walk&match=fuzzy', 'q=walk&sort=pxcode', 'sort=procedure']) {
      expectError(await list(`?${other}&cursor=${cursor}`), 400, 'Bad Request', /^cursor: was made for a different sort or filter/);
    }
    expect((await list(`?q=walk&cursor=${cursor}`)).status).toBe(200);
  });

  test('when a cursor is forged with a score no real can hold, then 400 names cursor (never a 500)', async () => {
    const cursor = (await walkCursor('?q=walk')) as string;
    const [digest, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8').slice(3)) as [string, number, string];
    for (const score of ['1e+39', '1e-50', '-1e+39']) {
      const forged = Buffer.from(`v2:${JSON.stringify([digest, id, score])}`).toString('base64url');
      expectError(await list(`?q=walk&cursor=${forged}`), 400, 'Bad Request', /^cursor: is not a cursor from a next link/);
    }
    const fine = Buffer.from(`v2:${JSON.stringify([digest, id, '1e-5'])}`).toString('base64url');
    expect((await list(`?q=walk&cursor=${fine}`)).status).toBe(200);
  });
});

describe('the search migration', () => {
  test('when a word is searched, then the plan uses the trigram index (the word is folded into a constant pattern)', async () => {
    const query = findMatching(sample.db, parseListQuery({ q: 'pneumonia' }).spec, 10, { offset: 0 }).toSQL();
    const plan = await sample.db.transaction(async (trx) => {
      await trx.raw('set local enable_seqscan = off');
      return (await trx.raw(`explain ${query.sql}`, query.bindings)).rows.map((row: { 'QUERY PLAN': string }) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/starter_pxcodes_search_text/);
    expect(plan).toMatch(/'%pneumonia%'/);
  });

  test('when it is undone and done again, then the column comes back the same, and it waits at most 10 s for the lock', async () => {
    const trx = await sample.db.transaction();
    try {
      await search.down(trx);
      expect((await trx.raw("select count(*) from information_schema.columns where column_name = 'search_text'")).rows[0].count).toBe('0');
      await search.up(trx);
      expect((await trx.raw('show lock_timeout')).rows[0].lock_timeout).toBe('10s');
      expect((await trx.raw("select search_text from starter_pxcodes where pxcode = 'C2'")).rows[0].search_text).toBe(' cafe creme brulee ');
    } finally {
      await trx.rollback();
    }
  });
});
