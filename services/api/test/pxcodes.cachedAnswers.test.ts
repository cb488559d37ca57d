import type { Server } from 'node:http';
import request from 'supertest';
import { rateLimit } from '../src/config';
import { createDatabase } from '../src/db/database';
import { encodeCursor } from '../src/http/cursors';
import { memoryLimiters } from '../src/limits/limiters';
import {
  bearerAuthorization,
  buildTestApp,
  databaseProxy,
  expectError,
  LogCapture,
  sampleDataFixture,
  user,
  userAuth as auth,
} from './helpers';

const sample = sampleDataFixture();
const collection = '/api/v1.0/pxcodes/';

let requestCounter = 0;
/** A GET with an id of its own, so that its log line can be found. */
function get(server: Server, url: string) {
  const id = `req-${++requestCounter}`;
  return { id, test: request(server).get(url).set('X-Request-Id', id) };
}

const logLine = (logs: LogCapture, id: string) =>
  logs.lines.find((line) => (line.req as { id?: string } | undefined)?.id === id && typeof line.msg === 'string' && line.msg.startsWith('request '));
const wasCached = (logs: LogCapture, id: string) => logLine(logs, id)?.cached === true;

// What may differ between two answers to the same request: the time, the request id, the connection.
function comparable(headers: Record<string, string>): Record<string, string> {
  const { date: _date, 'x-request-id': _id, connection: _connection, 'keep-alive': _keepAlive, ...rest } = headers;
  return rest;
}

describe('cached answers: repeated GETs answered in front of Express', () => {
  let server: Server;
  let logs: LogCapture;
  let token: string;

  beforeAll(async () => {
    const built = buildTestApp(sample.db);
    server = await sample.listening(built.app);
    logs = built.logs;
    token = (await request(server).get('/auth/request-token').auth(...auth)).body.token as string;
  });

  test.each([
    ['the list', collection, 'basic'],
    ['the list without the slash', '/api/v1.0/pxcodes', 'basic'],
    ['a page by number', `${collection}?page=3&per_page=10`, 'basic'],
    ['a page by cursor', `${collection}?per_page=5&cursor=${encodeCursor(40)}`, 'basic'],
    ['an item', `${collection}039`, 'basic'],
    ['the list, with a Bearer token', collection, 'bearer'],
    ['an item, with the token as the seed sends it', `${collection}057`, 'seed-token'],
  ])('when %s is asked for again, then the same status, bytes and headers come from the cache', async (_name, url, credentials) => {
    const send = () => {
      const { id, test } = get(server, url);
      if (credentials === 'bearer') test.set('Authorization', bearerAuthorization(token));
      else if (credentials === 'seed-token') test.auth(token, '');
      else test.auth(...auth);
      return test.buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      }).then((res) => ({ id, res }));
    };
    const first = await send();
    const second = await send();
    expect(first.res.status).toBe(200);
    expect(wasCached(logs, first.id)).toBe(false);
    expect(wasCached(logs, second.id)).toBe(true);
    expect(second.res.status).toBe(first.res.status);
    expect((second.res.body as Buffer).equals(first.res.body as Buffer)).toBe(true);
    expect(comparable(second.res.headers)).toEqual(comparable(first.res.headers));
    expect(second.res.headers['x-request-id']).toBe(second.id);
    expect(logLine(logs, second.id)).toMatchObject({ level: 30, msg: 'request completed', req: { method: 'GET', url }, res: { statusCode: 200 } });
  });

  test('when If-None-Match matches, then 304 exactly as Express answers it; with Cache-Control: no-cache, 200', async () => {
    const url = `${collection}?page=2&per_page=7`;
    // The same page under another URL gives its ETag without asking for this URL.
    const etag = (await get(server, `${collection}?per_page=7&page=2`).test.auth(...auth)).headers.etag as string;
    const express304 = get(server, url); // not cached yet: Express answers it (and keeps the page)
    const expressAnswer = await express304.test.auth(...auth).set('If-None-Match', etag);
    const cached304 = get(server, url);
    const cachedAnswer = await cached304.test.auth(...auth).set('If-None-Match', `"other", ${etag}`);
    expect(wasCached(logs, express304.id)).toBe(false);
    expect(wasCached(logs, cached304.id)).toBe(true);
    for (const res of [expressAnswer, cachedAnswer]) {
      expect(res.status).toBe(304);
      expect(res.text).toBe('');
      expect(res.headers['content-type']).toBeUndefined();
      expect(res.headers['content-length']).toBeUndefined();
      expect(res.headers.etag).toBe(etag);
    }
    expect(comparable(cachedAnswer.headers)).toEqual(comparable(expressAnswer.headers));
    const noCache = get(server, url);
    const fresh = await noCache.test.auth(...auth).set('If-None-Match', etag).set('Cache-Control', 'no-cache');
    expect(fresh.status).toBe(200);
    expect(fresh.body.meta.page).toBe(2);
  });

  test('when the credentials are wrong, missing or not verified yet, then Express answers', async () => {
    const url = `${collection}?per_page=3`;
    await get(server, url).test.auth(...auth); // cached now
    const wrong = get(server, url);
    expect((await wrong.test.auth(user.username, 'wrong')).status).toBe(401);
    const none = get(server, url);
    expect((await none.test).status).toBe(401);
    const bogus = get(server, url);
    expect((await bogus.test.set('Authorization', 'Bearer not.a.token')).status).toBe(401);
    for (const { id } of [wrong, none, bogus]) expect(wasCached(logs, id)).toBe(false);
  });

  test('when the request is a HEAD, carries a body (even an empty one), or names another host, then Express answers it by its rules', async () => {
    const url = `${collection}?per_page=4`;
    const getAnswer = await get(server, url).test.auth(...auth);
    const head = await request(server).head(url).auth(...auth).set('X-Request-Id', 'head-1');
    expect(head.status).toBe(200);
    expect(head.text).toBeUndefined();
    expect(comparable(head.headers)).toEqual(comparable(getAnswer.headers));
    const withBody = get(server, url);
    const bad = await withBody.test.auth(...auth).set('Content-Type', 'application/json').send('{not json');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('the request body is not valid JSON');
    // An empty body still goes through the body parser, which refuses a charset it cannot read.
    const emptyBody = get(server, url);
    const latin1 = await emptyBody.test.auth(...auth).set('Content-Type', 'application/json; charset=latin1').set('Content-Length', '0');
    expect(latin1.status).toBe(415);
    const otherHost = get(server, url);
    const other = await otherHost.test.auth(...auth).set('Host', 'api.example.test:8080');
    expect(other.body.meta.first).toBe('http://api.example.test:8080/api/v1.0/pxcodes/?per_page=4&page=1');
    for (const id of ['head-1', withBody.id, emptyBody.id, otherHost.id]) expect(wasCached(logs, id)).toBe(false);
  });

  test('when a URL is longer than any real client sends, then it is answered but never kept', async () => {
    const url = `${collection}039?${'x'.repeat(1100)}=1`;
    const first = await get(server, url).test.auth(...auth);
    const second = get(server, url);
    expect((await second.test.auth(...auth)).body).toEqual(first.body);
    expect(wasCached(logs, second.id)).toBe(false);
  });

  test('when the collection changes, then no answer of the old version is served: a writer sees the new total at once', async () => {
    const url = `${collection}?per_page=1`;
    const total = async () => (await get(server, url).test.auth(...auth)).body.meta.total as number;
    const before = await total();
    expect(await total()).toBe(before); // from the cache
    await request(server).post(collection).auth(...auth).send({ pxcode: 'CACHED1', procedure: 'X' });
    expect(await total()).toBe(before + 1);
    await sample.db('starter_pxcodes').where({ pxcode: 'CACHED1' }).delete(); // psql, another replica
    expect(await total()).toBe(before);
  });
});

describe('cached answers under the other settings', () => {
  test('when an answer cannot be sent (a header Node refuses), then every request gets a 500, none hangs, the server goes on', async () => {
    // PUBLIC_URL as config.ts would never pass it (it writes hosts in punycode): links Node refuses to send.
    const built = buildTestApp(sample.db, { publicUrl: 'http://пример.рф' });
    const server = await sample.listening(built.app);
    for (let i = 0; i < 2; i++) expect((await request(server).get(collection).auth(...auth).timeout(5000)).status).toBe(500);
    expect((await request(server).get(`${collection}039`).auth(...auth)).status).toBe(200);
  });

  test('when passwords are refused on the API (AUTH_MODES=token), then a password cached by request-token is refused at a cached URL too', async () => {
    const built = buildTestApp(sample.db, { passwords: false });
    const server = await sample.listening(built.app);
    const token = (await request(server).get('/auth/request-token').auth(...auth)).body.token as string;
    await request(server).get(collection).set('Authorization', bearerAuthorization(token));
    expect((await request(server).get(collection).set('Authorization', bearerAuthorization(token))).status).toBe(200);
    const res = await request(server).get(collection).auth(...auth);
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(/passwords are accepted only at \/auth\/request-token/);
  });

  test('when a proxy is trusted and no PUBLIC_URL is set, then every answer goes through Express (links follow X-Forwarded-*)', async () => {
    const built = buildTestApp(sample.db, { trustProxy: true });
    const server = await sample.listening(built.app);
    const ask = (host: string) => request(server).get(`${collection}039`).auth(...auth).set('X-Forwarded-Host', host).set('X-Forwarded-Proto', 'https');
    expect((await ask('one.example.test')).body.url).toBe('https://one.example.test/api/v1.0/pxcodes/039');
    expect((await ask('two.example.test')).body.url).toBe('https://two.example.test/api/v1.0/pxcodes/039');
    expect(built.logs.lines.some((line) => line.cached === true)).toBe(false);
  });

  test('when RATE_LIMIT is set, then cached answers are counted at the door like any other, and the 429 has the JSON shape', async () => {
    const built = buildTestApp(sample.db, { rateLimit: { setting: rateLimit.parse('3/1m'), limiters: memoryLimiters } });
    const server = await sample.listening(built.app);
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const sent = get(server, `${collection}?per_page=2`);
      answers.push({ id: sent.id, res: await sent.test.auth(...auth) });
    }
    expect(answers.map(({ res }) => res.status)).toEqual([200, 200, 200, 429]);
    expect(answers.map(({ res }) => res.headers['x-ratelimit-remaining'])).toEqual(['2', '1', '0', '0']);
    expect(answers.map(({ id }) => wasCached(built.logs, id))).toEqual([false, true, true, false]);
    const refused = answers[3]!.res;
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.headers['ratelimit-policy']).toBe('"default";q=3;w=60');
    expectError(refused, 429, 'Too Many Requests', /^rate limit exceeded: 3 requests per 60 s/);
  });

  test('when the database goes away, then a cached URL is answered 503 by Express, not from memory', async () => {
    const gateway = await databaseProxy(new URL(sample.database.url));
    const db = createDatabase(gateway.url, 2);
    try {
      const built = buildTestApp(db);
      const server = await sample.listening(built.app);
      const item = () => request(server).get(`${collection}039`).auth(...auth);
      expect((await item()).status).toBe(200);
      expect((await item()).status).toBe(200);
      gateway.close();
      expectError(await item(), 503, 'Service Unavailable', 'the database is unavailable; try again shortly');
    } finally {
      gateway.close();
      await db.destroy();
    }
  });
});

describe('the count under load on two replicas (no state in memory)', () => {
  test('when a client writes on one replica and at once lists on another that is busy, then it always sees its write', async () => {
    // The reader's database answers 15 ms late, so its reads of the state are always on their way
    // when the client's list arrives: joining one of those would miss the write.
    const slow = await databaseProxy(new URL(sample.database.url), 15);
    const readerDb = createDatabase(slow.url, 4);
    const writer = await sample.listening(buildTestApp(sample.db).app);
    const reader = await sample.listening(buildTestApp(readerDb).app);
    const total = async () => (await request(reader).get(`${collection}?per_page=1`).auth(...auth)).body.meta.total as number;
    let busy = true;
    const background = Array.from({ length: 4 }, async () => {
      while (busy) await request(reader).get(`${collection}?per_page=1`).auth(...auth);
    });
    try {
      let expected = await total();
      for (let round = 0; round < 15; round++) {
        const code = `LOAD${round}`;
        expect((await request(writer).post(collection).auth(...auth).send({ pxcode: code, procedure: 'X' })).status).toBe(201);
        expect(await total()).toBe(++expected);
        expect((await request(writer).delete(`${collection}${code}`).auth(...auth)).status).toBe(204);
        expect(await total()).toBe(--expected);
      }
    } finally {
      busy = false;
      await Promise.all(background);
      await readerDb.destroy();
      slow.close();
    }
  });
});
