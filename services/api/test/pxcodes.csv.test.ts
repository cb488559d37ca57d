import { mkdtempSync, writeFileSync } from 'node:fs';
import { get as httpGet, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import request from 'supertest';
import { main, type Io } from '../src/cli';
import { createDatabase, type Database } from '../src/db/database';
import { importFile } from '../src/pxcodes/importer';
import { copyOut } from '../src/pxcodes/export/copyOut';
import { inlined } from '../src/pxcodes/export/copySql';
import { addTestUser, basicAuthorization, buildTestApp, createTestDatabase, expectError, type LogCapture, portOf, sampleDataFixture, user, userAuth as auth, waitUntil } from './helpers';
import { sampleDataFile } from '../src/seed';
import { checkAnswer } from './openapi';

const collection = '/api/v1.0/pxcodes/';

// Text a CSV must quote or keep as it is (procedures may hold tabs and line breaks, not other controls).
const awkward = [
  { pxcode: 'AWK1', procedure: 'COMMAS, "QUOTES" AND ""DOUBLED"" ONES' },
  { pxcode: 'AWK2', procedure: String.raw`BACK\SLASH \N \\ AND A LONE ' QUOTE` },
  { pxcode: 'AWK3', procedure: 'LINE ONE\nLINE TWO\r\nLINE THREE\tTABBED' },
  { pxcode: 'AWK4', procedure: 'ÉCHOGRAPHIE DU CŒUR, ça va: 日本語 😀' },
  { pxcode: 'AWK5', procedure: '=1+2 ; \\. ? $1 E\'x\'' },
];
const generated = Array.from({ length: 150 }, (_, i) => ({ pxcode: `G${String(i + 1).padStart(3, '0')}`, procedure: `GENERATED ${150 - i}` }));

const sample = sampleDataFixture();
let server: Server;
let logs: LogCapture;

beforeAll(async () => {
  await sample.db('starter_pxcodes').insert([...awkward, ...generated]);
  const built = buildTestApp(sample.db);
  logs = built.logs;
  server = await sample.listening(built.app);
});

type Row = { pxcode: string; procedure: string };
const inOrder = (db: Database, where: (q: ReturnType<Database>) => unknown = () => undefined) => {
  const query = db('starter_pxcodes').select('pxcode', 'procedure').orderBy('id');
  where(query);
  return query as Promise<Row[]>;
};

const csv = (url: string, accept = 'text/csv') => request(server).get(url).auth(...auth).set('Accept', accept).buffer(true).parse(text);
/** The body as text, whatever its type (superagent parses only some); an error's JSON parsed. */
function text(res: request.Response, done: (error: Error | null, body: unknown) => void) {
  const stream = res as unknown as IncomingMessage;
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (body += chunk));
  stream.on('end', () => done(null, (stream.statusCode ?? 0) >= 400 ? JSON.parse(body) : body));
}
const records = (body: string) => parseCsv(body, { columns: true }) as Row[];

describe('CSV export of the collection', () => {
  test('when text/csv is asked for, then every row comes (not one page), in insertion order, with the header, as a download', async () => {
    const res = await csv(collection);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="pxcodes.csv"');
    expect(res.headers.vary).toBe('Accept');
    expect(res.headers.etag).toBeUndefined();
    const body = res.body as string;
    expect(body.split('\n')[0]).toBe('pxcode,procedure');
    const rows = records(body);
    expect(rows.length).toBe(255);
    expect(rows).toEqual(await inOrder(sample.db));
  });

  test('when procedures hold commas, quotes, line breaks, backslashes and accents, then they are quoted as RFC 4180 says and read back the same', async () => {
    const body = (await csv(`${collection}?pxcode_prefix=AWK`)).body as string;
    expect(body).toContain('AWK1,"COMMAS, ""QUOTES"" AND """"DOUBLED"""" ONES"\n');
    expect(body).toContain('AWK3,"LINE ONE\nLINE TWO\r\nLINE THREE\tTABBED"\n');
    expect(records(body)).toEqual(awkward);
  });

  test('when filters and a sort are given, then the export holds the rows that match, in that order', async () => {
    expect(records((await csv(`${collection}?pxcode=039,057,AWK4,064&sort=-pxcode`)).body)).toEqual(
      (await inOrder(sample.db, (q) => q.whereIn('pxcode', ['039', '057', 'AWK4', '064']))).sort((a, b) => (a.pxcode < b.pxcode ? 1 : -1)),
    );
    const byProcedure = records((await csv(`${collection}?pxcode_prefix=G&sort=procedure`)).body);
    expect(byProcedure.map((row) => row.procedure)).toEqual(generated.map((row) => row.procedure).sort());
    const hundred = generated.slice(0, 100).map((row) => row.pxcode);
    expect(records((await csv(`${collection}?pxcode=${hundred.reverse().join(',')}`)).body)).toEqual(generated.slice(0, 100));
  });

  test('when fields are chosen, then the columns are those, in the order pxcode, procedure; url is refused', async () => {
    expect(((await csv(`${collection}?fields=procedure&pxcode=039`)).body as string).split('\n')[0]).toBe('procedure');
    expect((await csv(`${collection}?fields=procedure,pxcode&pxcode=039`)).body).toBe('pxcode,procedure\n039,EXTRACRANIAL PROCEDURES W/O CC/MCC\n');
    const res = await csv(`${collection}?fields=pxcode,url`);
    expectError(res, 400, 'Bad Request', /^fields: url is not a column of the CSV export/);
  });

  test.each([
    ['page=1', 'page'],
    ['per_page=10', 'per_page'],
    ['cursor=', 'cursor'],
  ])('when %s is sent with text/csv, then 400 names it: an export is every row', async (query, name) => {
    expectError(await csv(`${collection}?${query}`), 400, 'Bad Request', new RegExp(`^${name}: a CSV export holds every row that matches`));
  });

  test('when the list parameters are wrong, then the same 400s as the JSON list', async () => {
    expectError(await csv(`${collection}?sort=size`), 400, 'Bad Request', /^sort: unknown sort key 'size'/);
    expectError(await csv(`${collection}?pages=2`), 400, 'Bad Request', /^pages: is not a parameter/);
  });

  test('when HEAD asks for CSV, then the headers come and no body', async () => {
    const res = await request(server).head(collection).auth(...auth).set('Accept', 'text/csv');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
  });
});

describe('content negotiation', () => {
  test.each([
    ['no Accept', undefined],
    ['*/*', '*/*'],
    ['application/json', 'application/json'],
    ['application/*', 'application/*'],
    ['a browser', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
    ['JSON preferred by q', 'text/csv;q=0.5, application/json'],
  ])('when the Accept is %s, then the collection answers JSON, with Vary: Accept', async (_name, accept) => {
    const test = request(server).get(`${collection}?per_page=2`).auth(...auth);
    const res = await (accept === undefined ? test : test.set('Accept', accept));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers.vary).toBe('Accept');
    expect(res.body.items).toHaveLength(2);
  });

  test.each([['text/csv'], ['text/*'], ['application/json;q=0.5, text/csv'], ['text/html, text/csv;q=0.1']])('when the Accept is %s, then CSV', async (accept) => {
    const res = await csv(`${collection}?pxcode=039`, accept);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
  });

  test.each([['text/html'], ['application/xml'], ['image/png, text/csv;q=0']])(
    'when the Accept is %s, then the collection is 406, naming what it serves',
    async (accept) => {
      const res = await request(server).get(collection).auth(...auth).set('Accept', accept);
      expectError(res, 406, 'Not Acceptable', `Accept: the collection is served as application/json or text/csv, not as ${accept}`);
    },
  );

  test('when an item is asked for as CSV or HTML, then 406; as JSON or anything, JSON with Vary: Accept', async () => {
    for (const accept of ['text/csv', 'text/html']) {
      expectError(await request(server).get(`${collection}039`).auth(...auth).set('Accept', accept), 406, 'Not Acceptable', `Accept: an item is served as application/json only, not as ${accept}`);
    }
    for (const accept of ['*/*', 'application/json', 'text/html, */*;q=0.1']) {
      const res = await request(server).get(`${collection}039`).auth(...auth).set('Accept', accept);
      expect(res.status).toBe(200);
      expect(res.body.pxcode).toBe('039');
      expect(res.headers.vary).toBe('Accept');
    }
  });
});

let requestCounter = 0;
const cachedLog = (id: string) => logs.lines.find((line) => (line.req as { id?: string } | undefined)?.id === id && line.msg === 'request completed')?.cached === true;

describe('the answer caches never mix CSV, JSON and 406', () => {
  const ask = async (target: Server, url: string, accept?: string, headers: Record<string, string> = {}) => {
    const id = `csv-${++requestCounter}`;
    const test = request(target).get(url).auth(...auth).set('X-Request-Id', id).set(headers).buffer(true).parse(text);
    const res = await (accept === undefined ? test : test.set('Accept', accept));
    return { res, cached: cachedLog(id) };
  };
  const isJson = (res: request.Response) => res.status === 200 && res.headers['content-type'] === 'application/json; charset=utf-8' && JSON.parse(res.body as string).items !== undefined;
  const isCsv = (res: request.Response) => res.status === 200 && (res.body as string).startsWith('pxcode,procedure\n');

  test('front path: JSON kept then CSV asked gets CSV; CSV asked then JSON gets JSON; a 406 stays a 406; Vary on cached answers and 304s', async () => {
    const url = `${collection}?per_page=3&sort=pxcode`;
    expect(isJson((await ask(server, url)).res)).toBe(true);
    const again = await ask(server, url, 'application/json');
    expect(again.cached).toBe(true);
    expect(again.res.headers.vary).toBe('Accept');
    const asCsv = await ask(server, url.replace('per_page=3&', ''), 'text/csv');
    expect(isCsv(asCsv.res)).toBe(true);
    const paged = await ask(server, url, 'text/csv');
    expect(paged.res.status).toBe(400); // the same URL as the kept JSON page, as CSV: not served from the cache
    expect(paged.cached).toBe(false);
    const refused = await ask(server, url, 'text/html');
    expect(refused.res.status).toBe(406);
    expect(refused.cached).toBe(false);
    const etag = again.res.headers.etag as string;
    const notModified = await ask(server, url, undefined, { 'If-None-Match': etag });
    expect(notModified.cached).toBe(true);
    expect(notModified.res.status).toBe(304);
    expect(notModified.res.headers.vary).toBe('Accept');

    const csvFirst = `${collection}?pxcode_prefix=AWK`;
    expect(isCsv((await ask(server, csvFirst, 'text/csv')).res)).toBe(true);
    expect(isCsv((await ask(server, csvFirst, 'text/csv')).res)).toBe(true);
    const json = await ask(server, csvFirst);
    expect(json.cached).toBe(false);
    expect(isJson(json.res)).toBe(true);
    expect(isCsv((await ask(server, csvFirst, 'text/csv')).res)).toBe(true);
  });

  test("Express path (answered(), the front stepping aside): JSON kept then CSV gets CSV, and the other way; 304 with Vary", async () => {
    const built = buildTestApp(sample.db, { trustProxy: true });
    const express = await sample.listening(built.app);
    const url = `${collection}?pxcode_prefix=G0&sort=-procedure`;
    const first = await ask(express, url);
    expect(isJson(first.res)).toBe(true);
    expect(first.res.headers.vary).toBe('Accept');
    const csvAfter = await ask(express, url, 'text/csv');
    expect(isCsv(csvAfter.res)).toBe(true);
    const expected = generated.slice(0, 99).sort((a, b) => (a.procedure < b.procedure ? 1 : -1));
    expect(records(csvAfter.res.body as string)).toEqual(expected);
    expect((await ask(express, url, 'application/xml')).res.status).toBe(406);
    const notModified = await ask(express, url, undefined, { 'If-None-Match': first.res.headers.etag as string });
    expect(notModified.res.status).toBe(304);
    expect(notModified.res.headers.vary).toBe('Accept');

    const csvFirst = `${collection}?pxcode_prefix=G1&sort=pxcode`;
    expect(isCsv((await ask(express, csvFirst, 'text/csv')).res)).toBe(true);
    expect(isJson((await ask(express, csvFirst)).res)).toBe(true);
    expect(isJson((await ask(express, csvFirst, '*/*')).res)).toBe(true);
    expect(isCsv((await ask(express, csvFirst, 'text/csv')).res)).toBe(true);
    expect((await ask(express, `${collection}039`, 'text/csv')).res.status).toBe(406);
    expect(built.logs.lines.some((line) => line.cached === true)).toBe(false);
  });
});

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('round trip and SQL text', () => {
  test('when the export is imported with the CLI into an empty database, then it holds the same rows in the same order', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'starter-csv-')), 'pxcodes.csv');
    writeFileSync(file, (await csv(collection)).body as string);
    const target = await createTestDatabase({ migrated: false });
    try {
      const io: Io = { stdin: Readable.from([]), stdout: new Collect(), stderr: new Collect() };
      const env = { DATABASE_URL: target.url, LOG_LEVEL: 'silent' };
      expect(await main(['migrate'], env, io)).toBe(0);
      expect(await main(['import', file], env, io)).toBe(0);
      expect(await inOrder(target.db)).toEqual(await inOrder(sample.db));
    } finally {
      await target.drop();
    }
  });

  test('when a value written into the COPY holds quotes, backslashes, placeholders and unicode, then it comes back exactly', async () => {
    const values = ["it's", String.raw`back\slash \' \\`, '? $1 $$ E\'\\x\'', 'ünï 😀 日本', '"; DROP TABLE starter_pxcodes; --'];
    for (const value of values) {
      const out = new Collect();
      const sql = `COPY (${inlined(sample.db.raw('select ? as value', [value]))}) TO STDOUT WITH (FORMAT csv, HEADER)`;
      await copyOut(sample.db, sql, out, () => undefined);
      expect(parseCsv(out.text, { columns: true })).toEqual([{ value }]);
    }
  });
});

describe('a long export cut short', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let onePool: Database;
  let target: Server;
  const copies = async () =>
    Number(
      (await database.db.raw("select count(*) as n from pg_stat_activity where datname = current_database() and query like 'COPY (%' and state = 'active'")).rows[0].n,
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    await addTestUser(database.db);
    await importFile(database.db, sampleDataFile);
    await database.db.raw("insert into starter_pxcodes (pxcode, procedure) select 'D' || i, repeat('A LONG PROCEDURE ', 12) || i from generate_series(1, 150000) as i");
    // One connection: a leaked one would leave the API nothing to answer with.
    onePool = createDatabase(database.url, 1);
    target = await sample.listening(buildTestApp(onePool).app);
  }, 120_000);
  afterAll(async () => {
    await onePool.destroy();
    await database.drop();
  });

  /**
   * Starts an export and resolves with the response once its first bytes came; the client reads no
   * more, so the answer is checked against the document by status and headers (its body is any string).
   */
  const startExport = () =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpGet({ port: portOf(target), host: '127.0.0.1', path: collection, headers: { accept: 'text/csv', authorization: basicAuthorization(user.username, user.password) } });
      req.on('error', () => undefined);
      req.on('response', (res) => {
        const problem = checkAnswer('raw', 'GET', `http://127.0.0.1:${portOf(target)}${collection}`, { status: res.statusCode ?? 0, headers: res.headers, unread: true });
        if (problem) {
          res.destroy();
          reject(new Error(problem));
        }
        res.once('data', () => {
          res.pause();
          resolve(res);
        });
        res.on('error', () => undefined);
      });
      setTimeout(() => reject(new Error('no first bytes')), 10_000).unref();
    });

  test('when the client goes away mid-export, then the COPY is stopped and the connection freed for other requests', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await startExport();
      await waitUntil(async () => (await copies()) === 1);
      res.destroy();
      await waitUntil(async () => (await copies()) === 0, 10_000);
      const item = await request(target).get(`${collection}039`).auth(...auth).timeout(5000);
      expect(item.status).toBe(200);
    }
  });

  test('when the client goes away before the first byte (the COPY waits on a lock), then the COPY is cancelled and the connection freed', async () => {
    const locker = await database.db.transaction();
    try {
      await locker.raw('lock table starter_pxcodes in access exclusive mode');
      const req = httpGet({ port: portOf(target), host: '127.0.0.1', path: collection, headers: { accept: 'text/csv', authorization: basicAuthorization(user.username, user.password) } });
      req.on('error', () => undefined);
      await waitUntil(async () => (await copies()) === 1);
      req.destroy();
      // Long enough for the API to see the socket close while the COPY still waits.
      await waitUntil(async () => Number((await database.db.raw("select count(*) as n from pg_stat_activity where query like 'COPY (%' and wait_event_type = 'Lock'")).rows[0].n) === 0, 10_000);
    } finally {
      await locker.commit();
    }
    await waitUntil(async () => (await copies()) === 0, 10_000);
    const item = await request(target).get(`${collection}039`).auth(...auth).timeout(5000);
    expect(item.status).toBe(200);
  });

  test('when exports hold half the pool, then one more is 503 with Retry-After; once one ends, exports run again', async () => {
    const res = await startExport(); // the pool has one connection: one export at a time
    const refused = await request(target).get(collection).auth(...auth).set('Accept', 'text/csv');
    expectError(refused, 503, 'Service Unavailable', /^1 CSV exports are running/);
    expect(refused.headers['retry-after']).toBe('5');
    res.destroy();
    await waitUntil(async () => (await copies()) === 0, 10_000);
    const again = await startExport();
    again.destroy();
    await waitUntil(async () => (await copies()) === 0, 10_000);
  });

  test('when the database fails after the first bytes, then the connection is cut: no complete-looking file', async () => {
    const res = await startExport();
    const ended = new Promise<boolean>((resolve) => {
      res.on('end', () => resolve(true));
      res.on('close', () => resolve(res.complete));
    });
    await database.db.raw("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like 'COPY (%'");
    res.resume();
    expect(await ended).toBe(false);
    expect((await request(target).get(`${collection}039`).auth(...auth).timeout(5000)).status).toBe(200);
  });

  test('when the database fails before the first byte, then the API answers its JSON error', async () => {
    await database.db.raw('alter table starter_pxcodes rename to starter_pxcodes_away');
    try {
      const res = await request(target).get(collection).auth(...auth).set('Accept', 'text/csv');
      expectError(res, 500, 'Internal Server Error', /^an unexpected error occurred/);
    } finally {
      await database.db.raw('alter table starter_pxcodes_away rename to starter_pxcodes');
    }
  });
});
