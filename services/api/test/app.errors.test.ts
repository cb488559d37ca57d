import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { createDatabase } from '../src/db/database';
import { addTestUser, buildTestApp, createTestDatabase, user, type TestDatabase } from './helpers';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  await addTestUser(database.db);
});
afterAll(() => database.drop());

describe('errors outside the pxcodes routes', () => {
  test('when a path is unknown, then 404 in the JSON error shape', async () => {
    const { app } = buildTestApp(database.db);
    const res = await request(app).get('/no/such/thing');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ status: 404, error: 'Not Found', message: 'no resource at GET /no/such/thing' });
  });

  test('when the failure is unexpected, then 500 names the request id and the log has the error', async () => {
    const broken = await createTestDatabase();
    try {
      await addTestUser(broken.db);
      await broken.db.schema.dropTable('starter_pxcodes');
      const { app, logs } = buildTestApp(broken.db);
      const res = await request(app).get('/api/v1.0/pxcodes/').auth(user.username, user.password).set('X-Request-Id', 'req-42');
      expect(res.status).toBe(500);
      expect(res.headers['x-request-id']).toBe('req-42');
      expect(res.body).toEqual({
        status: 500,
        error: 'Internal Server Error',
        message: 'an unexpected error occurred; it was logged with request id req-42',
      });
      expect(JSON.stringify(res.body)).not.toMatch(/starter_pxcodes|at .*\.ts/);
      const logged = logs.lines.find((line) => line.msg === 'unhandled error');
      expect(logged).toMatchObject({ level: 50, req: { id: 'req-42' } });
      expect(JSON.stringify(logged)).toContain('starter_pxcodes');
      const requestLine = logs.lines.find((line) => line.msg === 'request errored');
      expect(requestLine).toMatchObject({ level: 50, req: { id: 'req-42', method: 'GET' }, res: { statusCode: 500 } });
    } finally {
      await broken.drop();
    }
  });

  test('when the database is down, then 503 with Retry-After, and /ready says unavailable', async () => {
    const unreachable = createDatabase('postgres://nobody:nothing@127.0.0.1:1/none', 1);
    try {
      const { app } = buildTestApp(unreachable);
      const res = await request(app).get('/api/v1.0/pxcodes/').auth(user.username, user.password);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toEqual({
        status: 503,
        error: 'Service Unavailable',
        message: 'the database is unavailable; try again shortly',
      });
      const ready = await request(app).get('/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ status: 'unavailable', database: 'down' });
      const health = await request(app).get('/health');
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok' });
    } finally {
      await unreachable.destroy();
    }
  });

  test('when the database is up, then /ready says ready', async () => {
    const { app } = buildTestApp(database.db);
    const res = await request(app).get('/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', database: 'up' });
    expect(res.headers['cache-control']).toBe('no-store');
  });
});

describe('request logging', () => {
  test('when a request is served, then one line has method, path, status, duration and request id', async () => {
    const { app, logs } = buildTestApp(database.db);
    const res = await request(app).get('/api/v1.0/pxcodes/?per_page=1').auth(user.username, user.password);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const lines = logs.lines.filter((line) => line.msg === 'request completed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      req: { id, method: 'GET', url: '/api/v1.0/pxcodes/?per_page=1' },
      res: { statusCode: 200 },
    });
    expect(typeof lines[0]!.responseTime).toBe('number');
  });

  test('when the client sends an unsafe X-Request-Id, then a new one is made', async () => {
    const { app } = buildTestApp(database.db);
    const res = await request(app).get('/health').set('X-Request-Id', 'bad id\twith spaces');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('client errors keep their 4xx status', () => {
  const post = (encoding: string, body: Buffer) =>
    request(buildTestApp(database.db).app)
      .post('/api/v1.0/pxcodes/')
      .auth(user.username, user.password)
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', encoding)
      .serialize((bytes: Buffer) => bytes as unknown as string) // the bytes as they are, not a Buffer's JSON
      .send(body);
  const count = async () => Number((await database.db('starter_pxcodes').count('* as n').first())!.n);

  test.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('when the body is %s-encoded, then it is read; when it is corrupt, then 400 and nothing is stored', async (encoding, compress) => {
    const pxcode = `Z${encoding}`;
    const good = await post(encoding, compress(Buffer.from(JSON.stringify({ pxcode, procedure: 'COMPRESSED' }))));
    expect(good.status).toBe(201);
    const before = await count();
    for (const corrupt of [Buffer.from('{"pxcode":"ZBAD","procedure":"X"}'), compress(Buffer.from('{"pxcode":"ZBAD","procedure":"TRUNCATED"}')).subarray(0, 12)]) {
      const res = await post(encoding, corrupt);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ status: 400, error: 'Bad Request', message: 'the request body could not be decompressed as its Content-Encoding says' });
    }
    expect(await count()).toBe(before);
  });

  // zstd too, on every Node: body-parser takes it only where zlib has it (Node 24 in the container).
  test.each([['compress'], ['zstd'], ['ZSTD']])('when the Content-Encoding is %s, one the API does not take, then 415 names it and nothing is stored', async (encoding) => {
    const before = await count();
    const res = await post(encoding, Buffer.from('{"pxcode":"ZC","procedure":"X"}'));
    expect(res.status).toBe(415);
    expect(res.body).toEqual({
      status: 415,
      error: 'Unsupported Media Type',
      message: `Content-Encoding '${encoding.toLowerCase()}' is not supported; send gzip, deflate, br or identity`,
    });
    expect(await count()).toBe(before);
  });

  test.each([['djE6MTAw!!'], ['djE6MTAwx'], ['djE6MTAw='], ['djE6MDEwMA']])('when the cursor %s is not one the API gives out, then 400 names cursor', async (cursor) => {
    const res = await request(buildTestApp(database.db).app).get(`/api/v1.0/pxcodes/?cursor=${cursor}`).auth(user.username, user.password);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ status: 400, error: 'Bad Request', message: 'cursor: is not a cursor from a next link' });
  });

  test.each([
    ['v1:2147483648', 400],
    ['v1:999999999999999', 400],
    ['v1:2147483647', 200],
  ])('when the cursor carries the id %s, then %i (ids are PostgreSQL integers)', async (id, status) => {
    const cursor = Buffer.from(id).toString('base64url');
    const res = await request(buildTestApp(database.db).app).get(`/api/v1.0/pxcodes/?cursor=${cursor}`).auth(user.username, user.password);
    expect(res.status).toBe(status);
    if (status === 400) expect(res.body).toEqual({ status: 400, error: 'Bad Request', message: 'cursor: is not a cursor from a next link' });
    else expect(res.body.items).toEqual([]);
  });
});
