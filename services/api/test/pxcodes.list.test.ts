import request from 'supertest';
import { recreateSchema } from '../src/db/database';
import { importFile } from '../src/pxcodes/importer';
import { sampleDataFile } from '../src/seed';
import {
  addTestUser,
  buildTestApp,
  createTestDatabase,
  expectError,
  sampleDataFixture,
  userAuth as auth,
  type TestDatabase,
  pagesDisagreeingUnderWrites,
} from './helpers';

const sample = sampleDataFixture();
let app: ReturnType<typeof buildTestApp>['app'];
const base = 'http://localhost:5000/api/v1.0/pxcodes/';

beforeAll(() => {
  ({ app } = buildTestApp(sample.db, { publicUrl: 'http://localhost:5000' }));
});

const list = (query = '') => request(app).get(`/api/v1.0/pxcodes/${query}`).auth(...auth);

describe('GET /api/v1.0/pxcodes/', () => {
  test('when called as in the seed, then it answers the 100 codes in one page in the seed shape', async () => {
    const res = await list();
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.items).toHaveLength(100);
    expect(res.body.items[0]).toEqual({
      procedure: 'EXTRACRANIAL PROCEDURES W/O CC/MCC',
      pxcode: '039',
      url: 'http://localhost:5000/api/v1.0/pxcodes/039',
    });
    expect(res.body.items[1].pxcode).toBe('057');
    expect(res.body.meta).toEqual({
      first: `${base}?per_page=100&page=1`,
      last: `${base}?per_page=100&page=1`,
      next: null,
      page: 1,
      pages: 1,
      per_page: 100,
      prev: null,
      total: 100,
    });
    // The seed's key order (Flask sorted its keys).
    expect(Object.keys(res.body)).toEqual(['items', 'meta']);
    expect(Object.keys(res.body.items[0])).toEqual(['procedure', 'pxcode', 'url']);
    expect(res.headers.link).toBe(`<${base}?per_page=100&page=1>; rel="first", <${base}?per_page=100&page=1>; rel="last"`);
  });

  test('when called without the trailing slash, then it answers the same body', async () => {
    const withSlash = await list();
    const without = await request(app).get('/api/v1.0/pxcodes').auth(...auth);
    expect(without.status).toBe(200);
    expect(without.body).toEqual(withSlash.body);
  });

  test('when asking for the first page of 30, then next and last link onwards and prev is null', async () => {
    const res = await list('?per_page=30');
    expect(res.body.items).toHaveLength(30);
    expect(res.body.meta).toEqual({
      first: `${base}?per_page=30&page=1`,
      last: `${base}?per_page=30&page=4`,
      next: `${base}?per_page=30&page=2`,
      page: 1,
      pages: 4,
      per_page: 30,
      prev: null,
      total: 100,
    });
    expect(res.headers.link).toBe(
      `<${base}?per_page=30&page=1>; rel="first", <${base}?per_page=30&page=2>; rel="next", ` +
        `<${base}?per_page=30&page=4>; rel="last"`,
    );
  });

  test('when asking for a middle page, then prev and next both link and the rows follow on', async () => {
    const first = await list('?per_page=30&page=1');
    const second = await list('?per_page=30&page=2');
    expect(second.body.meta.prev).toBe(`${base}?per_page=30&page=1`);
    expect(second.body.meta.next).toBe(`${base}?per_page=30&page=3`);
    const codes = [...first.body.items, ...second.body.items].map((item: { pxcode: string }) => item.pxcode);
    expect(new Set(codes).size).toBe(60);
  });

  test('when asking for the last page, then it holds the remainder and next is null', async () => {
    const res = await list('?per_page=30&page=4');
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(10);
    expect(res.body.meta.next).toBeNull();
    expect(res.body.meta.prev).toBe(`${base}?per_page=30&page=3`);
  });

  test('when walking every page, then each code appears exactly once in a stable order', async () => {
    const all: string[] = [];
    for (let page = 1; page <= 7; page++) {
      const res = await list(`?per_page=15&page=${page}`);
      all.push(...res.body.items.map((item: { pxcode: string }) => item.pxcode));
    }
    const full = await list();
    expect(all).toEqual(full.body.items.map((item: { pxcode: string }) => item.pxcode));
  });

  test('when asking for a page past the end, then 404 says which page is the last', async () => {
    const res = await list('?per_page=30&page=5');
    expectError(res, 404, 'Not Found', 'page 5 is past the last page (4) at per_page=30');
  });

  test('when per_page is over 100, then it is capped at 100 as in the seed', async () => {
    const res = await list('?per_page=1000');
    expect(res.status).toBe(200);
    expect(res.body.meta.per_page).toBe(100);
    expect(res.body.items).toHaveLength(100);
    expect(res.body.meta.first).toBe(`${base}?per_page=100&page=1`);
  });

  test.each([
    ['page=abc', 'page: must be a positive whole number'],
    ['page=0', 'page: must be a positive whole number'],
    ['page=-1', 'page: must be a positive whole number'],
    ['page=1.5', 'page: must be a positive whole number'],
    ['page=', 'page: must be a positive whole number'],
    ['page=1&page=2', 'page: must be a single positive whole number'],
    ['per_page=0', 'per_page: must be a positive whole number'],
    ['per_page=-5', 'per_page: must be a positive whole number'],
    ['per_page=ten', 'per_page: must be a positive whole number'],
    ['page=x&per_page=y', 'page: must be a positive whole number; per_page: must be a positive whole number'],
  ])('when the query is %s, then 400 names the parameter', async (query, message) => {
    const res = await list(`?${query}`);
    expectError(res, 400, 'Bad Request', message);
  });

  test('when the client has the current ETag, then If-None-Match answers 304 with no body', async () => {
    const first = await list();
    expect(first.headers.etag as string).toMatch(/^"[^"]+"$/);
    const again = await list().set('If-None-Match', first.headers.etag as string);
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  test('when the collection changed, then the old ETag no longer matches', async () => {
    const before = await list('?per_page=5&page=20');
    await request(app).post('/api/v1.0/pxcodes/').auth(...auth).send({ pxcode: 'ZZ-LIST', procedure: 'ADDED' });
    const after = await list('?per_page=5&page=20').set('If-None-Match', before.headers.etag as string);
    await request(app).delete('/api/v1.0/pxcodes/ZZ-LIST').auth(...auth);
    expect(after.status).toBe(200);
    expect(after.body.meta.total).toBe(101);
  });

  test('when links are built without PUBLIC_URL, then they use the request host', async () => {
    const { app: plain } = buildTestApp(sample.db);
    const res = await request(plain).get('/api/v1.0/pxcodes/?per_page=1').auth(...auth).set('Host', 'api.example.test:8080');
    expect(res.body.items[0].url).toBe('http://api.example.test:8080/api/v1.0/pxcodes/039');
    expect(res.body.meta.next).toBe('http://api.example.test:8080/api/v1.0/pxcodes/?per_page=1&page=2');
  });

  test('when proxy headers are sent, then they are ignored unless TRUST_PROXY allows them', async () => {
    const { app: untrusting } = buildTestApp(sample.db);
    const { app: trusting } = buildTestApp(sample.db, { trustProxy: true });
    const send = (target: typeof untrusting) =>
      request(target)
        .get('/api/v1.0/pxcodes/?per_page=1')
        .auth(...auth)
        .set('Host', 'internal:5000')
        .set('X-Forwarded-Proto', 'https')
        .set('X-Forwarded-Host', 'api.example.test');
    expect((await send(untrusting)).body.items[0].url).toBe('http://internal:5000/api/v1.0/pxcodes/039');
    expect((await send(trusting)).body.items[0].url).toBe('https://api.example.test/api/v1.0/pxcodes/039');
  });
});

describe('GET /api/v1.0/pxcodes/ on an empty table', () => {
  let empty: TestDatabase;
  beforeAll(async () => {
    empty = await createTestDatabase();
    await addTestUser(empty.db);
  });
  afterAll(() => empty.drop());

  test('when there are no codes, then page 1 is empty with pages 0 and links to page 1', async () => {
    const { app: emptyApp } = buildTestApp(empty.db, { publicUrl: 'http://localhost:5000' });
    const res = await request(emptyApp).get('/api/v1.0/pxcodes/').auth(...auth);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [],
      meta: {
        first: `${base}?per_page=100&page=1`,
        last: `${base}?per_page=100&page=1`,
        next: null,
        page: 1,
        pages: 0,
        per_page: 100,
        prev: null,
        total: 0,
      },
    });
    const page2 = await request(emptyApp).get('/api/v1.0/pxcodes/?page=2').auth(...auth);
    expect(page2.status).toBe(404);
  });
});

describe('GET /api/v1.0/pxcodes/ at depth', () => {
  let deep: TestDatabase;
  let deepApp: ReturnType<typeof buildTestApp>['app'];
  const codes = (res: { body: { items: { pxcode: string }[] } }) => res.body.items.map((item) => item.pxcode);
  beforeAll(async () => {
    deep = await createTestDatabase();
    await addTestUser(deep.db);
    await deep.db.raw(
      "insert into starter_pxcodes (pxcode, procedure) select 'D' || lpad(i::text, 4, '0'), 'P' || i from generate_series(1, 257) i",
    );
    await deep.db('starter_pxcodes').whereIn('pxcode', ['D0005', 'D0100', 'D0200']).delete(); // gaps in the ids
    ({ app: deepApp } = buildTestApp(deep.db, { publicUrl: 'http://localhost:5000' }));
  });
  afterAll(() => deep.drop());
  const get = (query: string) => request(deepApp).get(`/api/v1.0/pxcodes/${query}`).auth(...auth);

  test('when rows are added, removed, imported or truncated, then meta.total follows at once', async () => {
    expect((await get('?per_page=1')).body.meta.total).toBe(254);
    await request(deepApp).post('/api/v1.0/pxcodes/').auth(...auth).send({ pxcode: 'COUNTED', procedure: 'X' });
    expect((await get('?per_page=1')).body.meta.total).toBe(255);
    await request(deepApp).delete('/api/v1.0/pxcodes/COUNTED').auth(...auth);
    expect((await get('?per_page=1')).body.meta.total).toBe(254);
    const other = await createTestDatabase();
    try {
      await importFile(other.db, sampleDataFile);
      await other.db('starter_pxcodes').where({ pxcode: '039' }).delete();
      expect(await other.db('starter_pxcodes_state').first('total')).toEqual({ total: '99' });
      await other.db.raw('truncate starter_pxcodes');
      expect(await other.db('starter_pxcodes_state').first('total')).toEqual({ total: '0' });
    } finally {
      await other.drop();
    }
  });

  test('when the table changes behind the API (psql, another replica), then the next list shows it at once', async () => {
    const before = await get('?per_page=5&page=2');
    const again = await get('?per_page=5&page=2');
    expect(again.headers.etag).toBe(before.headers.etag); // served from the page cache
    await deep.db('starter_pxcodes').where({ pxcode: 'D0007' }).update({ procedure: 'CHANGED BEHIND THE API' });
    const after = await get('?per_page=5&page=2');
    expect(after.body.items.find((item: { pxcode: string }) => item.pxcode === 'D0007').procedure).toBe('CHANGED BEHIND THE API');
    expect(after.headers.etag).not.toBe(before.headers.etag);
    await deep.db('starter_pxcodes').insert({ pxcode: 'BEHIND', procedure: 'X' });
    expect((await get('?per_page=5&page=2')).body.meta.total).toBe(255);
    await deep.db('starter_pxcodes').where({ pxcode: 'BEHIND' }).delete();
    expect((await get('?per_page=5&page=2')).body.meta.total).toBe(254);
  });

  test('when the tables are made again (resetdb) while pages are cached, then no page from before is served', async () => {
    const own = await createTestDatabase();
    try {
      await addTestUser(own.db);
      await importFile(own.db, sampleDataFile);
      const { app: ownApp } = buildTestApp(own.db);
      const list = () => request(ownApp).get('/api/v1.0/pxcodes/?per_page=2').auth(...auth);
      for (let i = 0; i < 3; i++) await request(ownApp).post('/api/v1.0/pxcodes/').auth(...auth).send({ pxcode: `R${i}`, procedure: 'X' });
      expect((await list()).body.meta.total).toBe(103);
      await recreateSchema(own.db);
      await addTestUser(own.db);
      // Writes bring the new version number back up to the one cached before the reset.
      for (let i = 0; i < 3; i++) await own.db('starter_pxcodes').insert({ pxcode: `N${i}`, procedure: 'NEW' });
      const after = await list();
      expect(after.body.meta.total).toBe(3);
      expect(after.body.items.map((item: { pxcode: string }) => item.pxcode)).toEqual(['N0', 'N1']);
    } finally {
      await own.drop();
    }
  });

  test('when every page is read by number, then pages read from the end line up with those from the start', async () => {
    const seen: string[] = [];
    for (let page = 1; page <= 26; page++) {
      const res = await get(`?per_page=10&page=${page}`);
      expect(res.status).toBe(200);
      expect(res.body.items).toHaveLength(page === 26 ? 4 : 10);
      seen.push(...codes(res));
    }
    const all = await deep.db('starter_pxcodes').orderBy('id').pluck('pxcode');
    expect(seen).toEqual(all);
  });

  test('when walking by cursor, then the next links visit every row once, in order, and end with null', async () => {
    const seen: string[] = [];
    let res = await get('?per_page=50&cursor=');
    expect(res.body.meta).toMatchObject({ page: null, prev: null, per_page: 50, pages: 6, total: 254 });
    expect(res.body.meta.first).toBe(`${base}?per_page=50&page=1`);
    expect(res.body.meta.next).toMatch(/^http:\/\/localhost:5000\/api\/v1\.0\/pxcodes\/\?per_page=50&cursor=[\w-]+$/);
    expect(res.headers.link).toContain(`<${res.body.meta.next}>; rel="next"`);
    seen.push(...codes(res));
    while (res.body.meta.next) {
      res = await request(deepApp).get(new URL(res.body.meta.next).pathname + new URL(res.body.meta.next).search).auth(...auth);
      expect(res.status).toBe(200);
      seen.push(...codes(res));
    }
    expect(seen).toEqual(await deep.db('starter_pxcodes').orderBy('id').pluck('pxcode'));
    expect(res.body.items).toHaveLength(4);
    expect(res.headers.link).not.toContain('rel="next"');
  });

  test.each([
    ['?cursor=bogus', 'cursor: is not a cursor from a next link'],
    ['?cursor=&page=2', 'cursor: cannot be combined with page'],
    ['?cursor=a&cursor=b', 'cursor: must be a single cursor'],
  ])('when the query is %s, then 400 names the cursor', async (query, message) => {
    const res = await get(query);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(message);
  });
});

describe('a page and its total under concurrent writes', () => {
  test('when rows come and go while pages are read, then each first-half and cursor page agrees with its total', async () => {
    expect(await pagesDisagreeingUnderWrites(['?per_page=100', '?per_page=100&cursor=', '?per_page=100&page=1', '?cursor='])).toEqual([]);
  });
});

describe('writes by anyone are seen at once, by lists and by items answered from the cache', () => {
  let own: TestDatabase;
  let ownApp: ReturnType<typeof buildTestApp>['app'];
  let logs: ReturnType<typeof buildTestApp>['logs'];
  const total = async () => (await request(ownApp).get('/api/v1.0/pxcodes/?per_page=10').auth(...auth)).body.meta.total as number;
  const item = () => request(ownApp).get('/api/v1.0/pxcodes/039').auth(...auth);
  const lastLineCached = () => logs.lines.at(-1)?.cached === true;

  beforeAll(async () => {
    own = await createTestDatabase();
    await addTestUser(own.db);
    await importFile(own.db, sampleDataFile);
    ({ app: ownApp, logs } = buildTestApp(own.db, { publicUrl: 'http://localhost:5000' }));
  });
  afterAll(() => own.drop());

  test('when an item is asked for again, then it comes from the cache, and follows a PATCH here, an UPDATE elsewhere and a DELETE', async () => {
    const first = await item();
    const second = await item();
    expect(lastLineCached()).toBe(true);
    expect(second.body).toEqual(first.body);
    expect(second.headers.etag).toBe(first.headers.etag);
    await request(ownApp).patch('/api/v1.0/pxcodes/039').auth(...auth).send({ procedure: 'PATCHED HERE' });
    expect((await item()).body.procedure).toBe('PATCHED HERE');
    await own.db('starter_pxcodes').where({ pxcode: '039' }).update({ procedure: 'PATCHED ELSEWHERE' });
    expect((await item()).body.procedure).toBe('PATCHED ELSEWHERE');
    await request(ownApp).delete('/api/v1.0/pxcodes/039').auth(...auth);
    expect((await item()).status).toBe(404);
  });

  test('when another process inserts, truncates, imports, recreates the schema or recounts by hand, then the next list has the new total', async () => {
    const start = await total();
    await total();
    expect(lastLineCached()).toBe(true);
    await own.db('starter_pxcodes').insert({ pxcode: 'ELSEWHERE', procedure: 'X' });
    expect(await total()).toBe(start + 1);
    await own.db.raw('truncate starter_pxcodes');
    expect(await total()).toBe(0);
    await importFile(own.db, sampleDataFile);
    expect(await total()).toBe(100);
    await recreateSchema(own.db);
    await addTestUser(own.db);
    expect(await total()).toBe(0);
    // docs/design.md's recount by hand, after a load that bypassed the triggers.
    await own.db.raw("SET session_replication_role = replica; INSERT INTO starter_pxcodes (pxcode, procedure) VALUES ('QUIET', 'X'); SET session_replication_role = DEFAULT");
    await own.db.raw('UPDATE starter_pxcodes_state SET total = (SELECT count(*) FROM starter_pxcodes), version = version + 1');
    expect(await total()).toBe(1);
  });
});
