import request from 'supertest';
import { rateLimit } from '../src/config';
import { createDatabase } from '../src/db/database';
import { memoryLimiters } from '../src/limits/limiters';
import { buildTestApp, databaseProxy, portOf, rawHttp, sampleDataFixture, userAuth as auth } from './helpers';

const sample = sampleDataFixture();
const collection = '/api/v1.0/pxcodes/';

describe('the probes and the door', () => {
  test('when an absolute-form request line normalises to /health, then it is not a probe: the door counts and refuses it', async () => {
    const built = buildTestApp(sample.db, { rateLimit: { setting: rateLimit.parse('1/1m'), limiters: memoryLimiters } });
    const server = await sample.listening(built.app);
    expect((await request(server).get(collection)).status).toBe(401); // the address's one request
    const sneaked = await rawHttp(
      portOf(server),
      'GET http://x/api/v1.0/pxcodes/039/../../../../health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(sneaked).toMatch(/^HTTP\/1\.1 429 /);
    const absolute = await rawHttp(portOf(server), 'GET http://x/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(absolute).toMatch(/^HTTP\/1\.1 429 /);
    // The probes as Express routes them are never counted.
    for (const path of ['/health', '/health/', '/HEALTH?x=1', '/ready', '/ready/?probe=1']) {
      expect([path, (await request(server).get(path)).status]).toEqual([path, 200]);
    }
    expect((await request(server).get('/healthz')).status).toBe(429);
  });
});

describe('/ready under a flood', () => {
  test('when 200 clients ask at once, then one or two queries answer them all, and a database gone is reported within about a second', async () => {
    const gateway = await databaseProxy(new URL(sample.database.url));
    const db = createDatabase(gateway.url, 5);
    let queries = 0;
    db.on('query', () => void (queries += 1));
    try {
      const server = await sample.listening(buildTestApp(db).app);
      const ready = () => request(server).get('/ready');
      const answers = await Promise.all(Array.from({ length: 200 }, ready));
      expect(answers.every((res) => res.status === 200)).toBe(true);
      expect(queries).toBeGreaterThanOrEqual(1);
      expect(queries).toBeLessThanOrEqual(2);

      gateway.close();
      const gone = Date.now();
      while ((await ready()).status === 200) expect(Date.now() - gone).toBeLessThan(1500);
      expect((await ready()).body).toEqual({ status: 'unavailable', database: 'down' });
    } finally {
      gateway.close();
      await db.destroy();
    }
  });

  test('when the database hangs (no answer, no error), then /ready says down within about two seconds, and answers every caller', async () => {
    const gateway = await databaseProxy(new URL(sample.database.url));
    const db = createDatabase(gateway.url, 5);
    try {
      const server = await sample.listening(buildTestApp(db).app);
      expect((await request(server).get('/ready')).status).toBe(200);
      gateway.freeze();
      const frozen = Date.now();
      const answers = await Promise.all(Array.from({ length: 50 }, () => request(server).get('/ready')));
      expect(answers.every((res) => res.status === 200 || res.status === 503)).toBe(true);
      let status = answers.at(-1)!.status;
      while (status === 200) status = (await request(server).get('/ready')).status;
      expect(Date.now() - frozen).toBeLessThan(2500);
    } finally {
      gateway.close();
      await db.destroy();
    }
  });
});

describe('headers on every answer', () => {
  test('when anything is answered (error, 404, probe, 401, 429, 304, token), then it carries X-Content-Type-Options: nosniff', async () => {
    const built = buildTestApp(sample.db, { rateLimit: { setting: rateLimit.parse('8/1m'), limiters: memoryLimiters } });
    const server = await sample.listening(built.app);
    const etag = (await request(server).get(`${collection}039`).auth(...auth)).headers.etag as string;
    const answers = [
      await request(server).get('/no/such/thing'),
      await request(server).get('/health'),
      await request(server).get('/ready'),
      await request(server).get(collection),
      await request(server).get(`${collection}039`).auth(...auth).set('If-None-Match', etag),
      await request(server).post(collection).auth(...auth).type('json').send('{'),
      await request(server).get('/auth/request-token').auth(...auth),
    ];
    expect(answers.map((res) => res.status)).toEqual([404, 200, 200, 401, 304, 400, 200]);
    while ((await request(server).get('/no/such/thing')).status !== 429);
    answers.push(await request(server).get('/no/such/thing'));
    for (const res of answers) expect([res.status, res.headers['x-content-type-options']]).toEqual([res.status, 'nosniff']);
  });

  test('when an authenticated answer is sent by Express or from the cache (200 or 304), then Cache-Control is private and it revalidates with its ETag', async () => {
    const built = buildTestApp(sample.db);
    const server = await sample.listening(built.app);
    const url = `${collection}?per_page=3&page=2`;
    const first = await request(server).get(url).auth(...auth).set('X-Request-Id', 'express-200');
    const second = await request(server).get(url).auth(...auth).set('X-Request-Id', 'cached-200');
    const etag = first.headers.etag as string;
    const notModified = await request(server).get(url).auth(...auth).set('If-None-Match', etag).set('X-Request-Id', 'cached-304');
    const item = await request(server).get(`${collection}039`).auth(...auth);
    const itemNotModified = await request(server).get(`${collection}039`).auth(...auth).set('If-None-Match', item.headers.etag as string);
    const missing = await request(server).get(`${collection}NOPE`).auth(...auth);
    const cached = built.logs.lines.filter((line) => line.cached === true).map((line) => (line.req as { id: string }).id);
    expect(cached).toEqual(expect.arrayContaining(['cached-200', 'cached-304']));
    expect(cached).not.toContain('express-200');
    expect([first, second, notModified, item, itemNotModified, missing].map((res) => [res.status, res.headers['cache-control'], res.headers['x-content-type-options']])).toEqual([
      [200, 'private, no-cache', 'nosniff'],
      [200, 'private, no-cache', 'nosniff'],
      [304, 'private, no-cache', 'nosniff'],
      [200, 'private, no-cache', 'nosniff'],
      [304, 'private, no-cache', 'nosniff'],
      [404, 'private, no-cache', 'nosniff'],
    ]);
    expect(notModified.headers.etag).toBe(etag);
    const token = await request(server).get('/auth/request-token').auth(...auth);
    // As the seed answers it: no-store already keeps every cache from storing it.
    expect(token.headers['cache-control']).toBe('no-cache, no-store, max-age=0');
    // Not authenticated: nothing private to say; probes are never stored.
    expect((await request(server).get('/health')).headers['cache-control']).toBe('no-store');
  });
});
