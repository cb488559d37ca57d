import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { rateLimit } from '../src/config';
import { memoryLimiters, redisLimiters, type LimiterFactory } from '../src/limits/limiters';
import { createLogger } from '../src/logger';
import { LoginThrottle } from '../src/auth/loginThrottle';
import { connectRedis, type RedisConnection } from '../src/limits/redis';
import { addTestUser, buildTestApp, createTestDatabase, LogCapture, rawHttp, testRedisUrl, user, waitUntil, type TestDatabase } from './helpers';
import { startRedis, type TestRedis } from './redisServer';
import { Tokens } from '../src/auth/tokens';

let database: TestDatabase;
let redis: RedisConnection;

beforeAll(async () => {
  database = await createTestDatabase();
  await addTestUser(database.db);
  redis = connectRedis(testRedisUrl(), 250, createLogger('silent'));
  await waitUntil(() => redis.isUp());
});
afterAll(async () => {
  await redis.close();
  await database.drop();
});

const list = '/api/v1.0/pxcodes/';
/** Every test counts in its own keys, as if it had a Redis of its own. */
const sharedStore = (): LimiterFactory => redisLimiters(redis, `test-${randomBytes(6).toString('hex')}`);
const limited = (limit: string, limiters: LimiterFactory = sharedStore(), extra = {}) =>
  buildTestApp(database.db, { rateLimit: { setting: rateLimit.parse(limit), limiters }, redis, ...extra });

describe('RATE_LIMIT=5/15s, counted in Redis', () => {
  test('when five calls are made, then each carries the X-RateLimit-* and IETF RateLimit headers, counting down', async () => {
    const { app } = limited('5/15s');
    for (let remaining = 4; remaining >= 0; remaining--) {
      const before = Math.floor(Date.now() / 1000);
      const res = await request(app).get(list).auth(user.username, user.password);
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe('5');
      expect(res.headers['x-ratelimit-remaining']).toBe(String(remaining));
      const reset = Number(res.headers['x-ratelimit-reset']); // UTC epoch seconds
      expect(reset).toBeGreaterThan(before);
      expect(reset).toBeLessThanOrEqual(Math.ceil((Date.now() + 15_000) / 1000));
      expect(res.headers['ratelimit-policy']).toBe('"default";q=5;w=15');
      expect(res.headers.ratelimit).toMatch(new RegExp(`^"default";r=${remaining};t=(1[0-5]|[1-9])$`));
    }
  });

  test('when the sixth call comes within 15 s, then 429 at once with Retry-After, the headers and the JSON shape', async () => {
    const { app } = limited('5/15s');
    for (let i = 0; i < 5; i++) expect((await request(app).get(list).auth(user.username, user.password)).status).toBe(200);
    const res = await request(app).get(list).auth(user.username, user.password);
    expect(res.status).toBe(429);
    expect(res.body).toEqual({
      status: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(/^rate limit exceeded: 5 requests per 15 s; try again in \d+ s$/),
    });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(15);
    expect(res.headers['x-ratelimit-remaining']).toBe('0');
    expect(res.headers['x-ratelimit-limit']).toBe('5');
    expect(res.headers.ratelimit).toMatch(/^"default";r=0;t=\d+$/);
  });

  test('when over the limit, then no work is done: a POST creates nothing', async () => {
    const { app } = limited('2/1m');
    await request(app).get(list).auth(user.username, user.password);
    await request(app).get(list).auth(user.username, user.password);
    const res = await request(app).post(list).auth(user.username, user.password).send({ pxcode: 'RL1', procedure: 'OVER THE LIMIT' });
    expect(res.status).toBe(429);
    expect(await database.db('starter_pxcodes').where({ pxcode: 'RL1' }).first()).toBeUndefined();
  });

  test('when two app instances share one Redis, then they share one budget (the sixth call is refused on either)', async () => {
    const store = sharedStore();
    const replicas = [limited('5/15s', store).app, limited('5/15s', store).app];
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await request(replicas[i % 2]!).get(list).auth(user.username, user.password)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
  });

  test('when a token is used, then it spends the same user budget as the password', async () => {
    const { app } = limited('3/1m');
    const token = (await request(app).get('/auth/request-token').auth(user.username, user.password)).body.token as string;
    expect((await request(app).get(list).auth(token, '')).status).toBe(200);
    expect((await request(app).get(list).set('Authorization', `Bearer ${token}`)).status).toBe(200);
    expect((await request(app).get(list).auth(token, '')).status).toBe(429);
  });

  test('when requests carry no valid credentials, then they are counted per client address, apart from users', async () => {
    const { app } = limited('2/1m', sharedStore(), { trustProxy: true });
    const from = (address: string) => request(app).get(list).set('X-Forwarded-For', address);
    // Signed in once: charged to the user, not to the address.
    expect((await from('10.0.0.1').auth(user.username, user.password)).status).toBe(200);
    expect((await from('10.0.0.1')).status).toBe(401);
    expect((await from('10.0.0.1').auth('nobody', 'wrong')).status).toBe(401);
    const third = await from('10.0.0.1');
    expect(third.status).toBe(429); // refused before authentication
    expect(third.headers['x-ratelimit-remaining']).toBe('0');
    expect((await from('10.0.0.2')).status).toBe(401); // another address has its own budget
    // Credentials verified before are counted as their user, whatever the address has spent...
    const signedIn = await from('10.0.0.1').auth(user.username, user.password);
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers['x-ratelimit-remaining']).toBe('0');
    // ...while credentials not seen before are charged to the address first, and refused there.
    await addTestUser(database.db, 'newcomer', 'pw');
    expect((await from('10.0.0.1').auth('newcomer', 'pw')).status).toBe(429);
    expect((await from('10.0.0.3').auth('newcomer', 'pw')).status).toBe(200);
  });

  test('when a user over the limit signs in on a replica that has not seen it, then 429 once the credentials are verified, with the user\'s counters', async () => {
    const store = sharedStore();
    const first = limited('1/1m', store, { trustProxy: true });
    const second = limited('1/1m', store, { trustProxy: true });
    expect((await request(first.app).get(list).auth(user.username, user.password)).status).toBe(200);
    const refused = await request(second.app).get(list).set('X-Forwarded-For', '10.1.0.1').auth(user.username, user.password);
    expect(refused.status).toBe(429);
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    // Verified now: later requests are refused at the door, with no hash.
    expect(second.credentialCache.size).toBe(1);
    const token = await request(limited('5/1m').app).get('/auth/request-token').auth(user.username, user.password);
    expect((await request(second.app).get(list).set('X-Forwarded-For', '10.1.0.2').auth(token.body.token, '')).status).toBe(429);
  });

  test('when a stranger claims a user who is over the limit, then the answer is the one any other name gets: 401 with the address\'s counters', async () => {
    const { app } = limited('2/1m', sharedStore(), { trustProxy: true });
    for (let i = 0; i < 2; i++) expect((await request(app).get(list).set('X-Forwarded-For', '10.2.0.1').auth(user.username, user.password)).status).toBe(200);
    expect((await request(app).get(list).set('X-Forwarded-For', '10.2.0.1').auth(user.username, user.password)).status).toBe(429);
    const claimed = await request(app).get(list).set('X-Forwarded-For', '10.2.0.2').auth(user.username, 'wrong');
    const other = await request(app).get(list).set('X-Forwarded-For', '10.2.0.3').auth('nobody', 'wrong');
    for (const res of [claimed, other]) {
      expect(res.status).toBe(401);
      expect(res.headers['x-ratelimit-remaining']).toBe('1'); // the address's own budget
      expect(res.headers.ratelimit).toMatch(/^"default";r=1;t=\d+$/);
    }
    // A token that is not genuine but names the user: the same.
    const [header, , signature] = (await new Tokens('another-secret', 60).issue({ id: 1, username: user.username, tokenVersion: 'v' })).split('.');
    const forged = await request(app).get(list).set('X-Forwarded-For', '10.2.0.4').set('Authorization', `Bearer ${header}.${Buffer.from(JSON.stringify({ sub: user.username })).toString('base64url')}.${signature}`);
    expect(forged.status).toBe(401);
    expect(forged.headers['x-ratelimit-remaining']).toBe('1');
  });

  test('when a user is over the limit, then other users still get through', async () => {
    await addTestUser(database.db, 'other-user', 'other-password');
    const { app } = limited('1/1m');
    expect((await request(app).get(list).auth(user.username, user.password)).status).toBe(200);
    expect((await request(app).get(list).auth(user.username, user.password)).status).toBe(429);
    expect((await request(app).get(list).auth('other-user', 'other-password')).status).toBe(200);
  });

  test('when the health probes are called, then they are never limited', async () => {
    const { app } = limited('1/1m');
    for (const probe of ['/health', '/health', '/HEALTH/', '/ready?x=1']) {
      const res = await request(app).get(probe);
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
    expect((await request(app).get('/ready')).body).toEqual({ status: 'ready', database: 'up', redis: 'up' });
    // Only the origin form is a probe: an absolute-form request line (GET http://host/health) is
    // counted like any other, so that no path that normalises to /health can skip the door.
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const probe = 'GET http://127.0.0.1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
      const first = await rawHttp((server.address() as AddressInfo).port, probe);
      expect(first).toMatch(/^HTTP\/1\.1 200 [^]*x-ratelimit-remaining: 0/i);
      expect(await rawHttp((server.address() as AddressInfo).port, probe)).toMatch(/^HTTP\/1\.1 429 /);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('when a client asks for paths that do not exist, then those count too (the door is in front of every path but the probes)', async () => {
    const { app } = limited('2/1m');
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(app).get(`/no/such/path/${i}`)).status);
    expect(statuses).toEqual([404, 404, 429]);
  });
});

describe('without REDIS_URL: the memory store', () => {
  test('when the limit is reached, then 429 as with Redis, counted in this process', async () => {
    const { app } = limited('2/15s', memoryLimiters, { redis: undefined });
    expect((await request(app).get(list).auth(user.username, user.password)).headers['x-ratelimit-remaining']).toBe('1');
    expect((await request(app).get(list).auth(user.username, user.password)).status).toBe(200);
    expect((await request(app).get(list).auth(user.username, user.password)).status).toBe(429);
    expect((await request(app).get('/ready')).body).toEqual({ status: 'ready', database: 'up' });
  });

  test('when RATE_LIMIT is not set, then no limit and no headers', async () => {
    const { app } = buildTestApp(database.db);
    const res = await request(app).get(list).auth(user.username, user.password);
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    expect(res.headers.ratelimit).toBeUndefined();
  });
});

describe('the failed-login throttle shares the store', () => {
  test('when wrong passwords are spread over two replicas, then they count together', async () => {
    const store = sharedStore();
    const replicas = [0, 1].map(() => buildTestApp(database.db, { loginThrottle: new LoginThrottle(3, 2, 256, store) }).app);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await request(replicas[i % 2]!).get(list).auth(user.username, `wrong-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});

describe('the failed-login budget per user name', () => {
  test('when guesses at one name come from many addresses across two replicas, then that name gets 429 past its budget, while clients verified before go on', async () => {
    await addTestUser(database.db, 'targeted', 'right-password');
    const store = sharedStore();
    const replica = () => buildTestApp(database.db, { trustProxy: true, loginThrottle: new LoginThrottle(3, 2, 256, store, 4) }).app;
    const replicas = [replica(), replica()];
    const from = (app: (typeof replicas)[number], address: string) => request(app).get(list).set('X-Forwarded-For', address);
    // Signed in on each replica before the attack (remembered in each one's credential cache).
    for (const app of replicas) expect((await from(app, '10.3.0.1').auth('targeted', 'right-password')).status).toBe(200);

    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await from(replicas[i % 2]!, `10.3.1.${i}`).auth('targeted', `guess-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]); // one guess per address: only the name's budget can stop them
    const refused = await from(replicas[0]!, '10.3.1.100').auth('targeted', 'guess-again');
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      status: 429,
      error: 'Too Many Requests',
      message: `too many failed logins for this user name; try again in ${refused.headers['retry-after']} s`,
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // Verified clients of that user are not locked out, on either replica.
    for (const app of replicas) expect((await from(app, '10.3.0.1').auth('targeted', 'right-password')).status).toBe(200);
    // A fresh client with the right password cannot be told from a guess without a hash: it waits out the block too.
    expect((await from(replica(), '10.3.2.1').auth('targeted', 'right-password')).status).toBe(429);
    // Other names, from the same addresses, are not affected.
    expect((await from(replicas[1]!, '10.3.1.0').auth(user.username, user.password)).status).toBe(200);
    expect((await from(replicas[1]!, '10.3.1.1').auth('someone-else', 'guess')).status).toBe(401);
  });
  test("when a name's budget is spent and a replica has never seen the client (cold cache), then an address where that name signed in before still gets through; a new address gets 429", async () => {
    await addTestUser(database.db, 'besieged', 'right-password');
    const store = sharedStore();
    const replica = () => buildTestApp(database.db, { trustProxy: true, loginThrottle: new LoginThrottle(3, 2, 256, store, 4) }).app;
    const from = (app: ReturnType<typeof replica>, address: string) => request(app).get(list).set('X-Forwarded-For', address);
    expect((await from(replica(), '10.5.0.1').auth('besieged', 'right-password')).status).toBe(200);

    // A replica started after the sign-in (restart, another replica, a lost LISTEN): nothing cached.
    const fresh = replica();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await from(fresh, `10.5.1.${i}`).auth('besieged', `guess-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    expect((await from(fresh, '10.5.0.1').auth('besieged', 'right-password')).status).toBe(200);
    expect((await from(replica(), '10.5.0.1').auth('besieged', 'right-password')).status).toBe(200);
    expect((await from(replica(), '10.5.2.1').auth('besieged', 'right-password')).status).toBe(429);
    // The known address is still held by its own budget: its guesses at that name stop at 3.
    const guesses: number[] = [];
    for (let i = 0; i < 4; i++) guesses.push((await from(replica(), '10.5.0.1').auth('besieged', `wrong-${i}`)).status);
    expect(guesses).toEqual([401, 401, 401, 429]);
  });

  test("when a name's budget refuses an address, then that address's own budget is not spent", async () => {
    await addTestUser(database.db, 'refused-name', 'right-password');
    const replica = buildTestApp(database.db, { trustProxy: true, loginThrottle: new LoginThrottle(3, 2, 256, sharedStore(), 3) }).app;
    const from = (address: string) => request(replica).get(list).set('X-Forwarded-For', address);
    for (let i = 0; i < 3; i++) expect((await from(`10.6.1.${i}`).auth('refused-name', `guess-${i}`)).status).toBe(401);
    for (let i = 0; i < 3; i++) {
      const refused = await from('10.6.0.1').auth('refused-name', `guess-again-${i}`);
      expect(refused.body.message).toMatch(/^too many failed logins for this user name/);
    }
    // Its three attempts are still there, for any other name.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await from('10.6.0.1').auth('someone-else', `guess-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe('the failed-login 429 and the request budget', () => {
  test('when the failed-login throttle refuses, then its 429 carries no X-RateLimit-* or RateLimit headers (they describe the request budget)', async () => {
    const { app } = limited('100/1m', sharedStore(), { loginThrottle: new LoginThrottle(1, 2) });
    const first = await request(app).get(list).auth(user.username, 'wrong-1');
    expect(first.status).toBe(401);
    expect(first.headers['x-ratelimit-remaining']).toBe('99');
    // The throttle's own answer (within authentication), then the door's (the address is blocked).
    for (const password of ['wrong-2', 'wrong-3']) {
      const res = await request(app).get(list).auth(user.username, password);
      expect(res.status).toBe(429);
      expect(res.body.message).toMatch(/^too many failed logins/);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit-policy', 'ratelimit']) {
        expect(res.headers[name]).toBeUndefined();
      }
    }
  });
});

describe('when Redis is down or slow', () => {
  let own: TestRedis;
  let connection: RedisConnection;
  let logs: LogCapture;
  beforeAll(async () => {
    own = await startRedis();
    logs = new LogCapture();
    connection = connectRedis(own.url, 200, createLogger('info', { stream: logs }));
    await waitUntil(() => connection.isUp());
  });
  afterAll(async () => {
    await connection.close();
    await own.dispose();
  });

  test('when Redis stops mid-test, then every request is still answered (never 5xx), limits hold per process, /ready says so', async () => {
    const store = redisLimiters(connection, `test-${randomBytes(6).toString('hex')}`);
    const { app } = buildTestApp(database.db, { rateLimit: { setting: rateLimit.parse('4/1m'), limiters: store }, redis: connection });
    expect((await request(app).get(list).auth(user.username, user.password)).status).toBe(200);

    await own.stop();
    await waitUntil(() => !connection.isUp());
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      statuses.push((await request(app).get(list).auth(user.username, user.password)).status);
      expect(Date.now() - started).toBeLessThan(1000);
    }
    // Counted in memory meanwhile: the insurance limiter allows the full budget in this process.
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const ready = await request(app).get('/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', database: 'up', redis: 'down' });
    expect(logs.lines.some((line) => line.level === 40 && String(line.msg).startsWith('Redis is unavailable'))).toBe(true);

    await own.restart();
    await waitUntil(() => connection.isUp(), 10_000);
    expect((await request(app).get('/ready')).body.redis).toBe('up');
  });

  test('when Redis hangs (paused), then one request waits the command timeout, the next ones none; /ready and the log say so', async () => {
    const store = redisLimiters(connection, `test-${randomBytes(6).toString('hex')}`);
    const { app } = buildTestApp(database.db, { rateLimit: { setting: rateLimit.parse('100/1m'), limiters: store }, redis: connection });
    expect((await request(app).get(list).auth(user.username, user.password)).status).toBe(200);
    const warningsBefore = logs.lines.filter((line) => line.level === 40).length;
    await own.pause();
    try {
      const timings: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        const res = await request(app).get(list).auth(user.username, user.password);
        expect(res.status).toBe(200);
        timings.push(Date.now() - started);
      }
      expect(timings[0]).toBeGreaterThanOrEqual(180); // the stalled command ran into REDIS_TIMEOUT_MS (200)...
      expect(Math.max(...timings.slice(1))).toBeLessThan(150); // ...and then Redis is left alone
      expect((await request(app).get('/ready')).body).toEqual({ status: 'ready', database: 'up', redis: 'down' });
      expect(logs.lines.filter((line) => line.level === 40).length).toBe(warningsBefore + 1);
    } finally {
      await own.resume();
    }
    await waitUntil(() => connection.isUp(), 10_000);
    expect((await request(app).get('/ready')).body.redis).toBe('up');
  });

  test('when Redis was never reachable, then the API answers from the start', async () => {
    const nowhere = connectRedis('redis://127.0.0.1:1', 200, createLogger('silent'));
    try {
      const { app } = buildTestApp(database.db, {
        rateLimit: { setting: rateLimit.parse('2/1m'), limiters: redisLimiters(nowhere, 'nowhere') },
        loginThrottle: new LoginThrottle(5, 2, 256, redisLimiters(nowhere, 'nowhere')),
        redis: nowhere,
      });
      expect((await request(app).get(list).auth(user.username, user.password)).status).toBe(200);
      expect((await request(app).get(list).auth(user.username, 'wrong')).status).toBe(401);
      expect((await request(app).get('/ready')).body).toEqual({ status: 'ready', database: 'up', redis: 'down' });
    } finally {
      await nowhere.close();
    }
  });
});
