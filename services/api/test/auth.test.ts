import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { Authenticator } from '../src/auth/authenticator';
import { CredentialCache } from '../src/auth/credentialCache';
import { recreateSchema } from '../src/db/database';
import { memoryLimiters, type Limiter, type LimiterFactory } from '../src/limits/limiters';
import { LoginThrottle } from '../src/auth/loginThrottle';
import { createLogger } from '../src/logger';
import { deleteUser, setPassword } from '../src/users/repository';
import { credentialInvalidation, usersChannel } from '../src/auth/credentialChanges';
import { listenForChanges } from '../src/db/changeListener';
import { addTestUser, basic, buildTestApp, createTestDatabase, rawHttp, user, waitUntil, type TestDatabase } from './helpers';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await addTestUser(database.db);
});
afterAll(() => database.drop());

const challenge = 'Basic realm="starter", charset="UTF-8"';

describe('basic auth on /api/v1.0', () => {
  test('when no credentials are sent, then 401 with a Basic challenge and a JSON body', async () => {
    const { app } = buildTestApp(database.db);
    const res = await request(app).get('/api/v1.0/pxcodes/');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(challenge);
    expect(res.body).toEqual({ status: 401, error: 'Unauthorized', message: 'authentication required' });
  });

  test('when the password is wrong, then 401', async () => {
    const { app } = buildTestApp(database.db);
    const res = await request(app).get('/api/v1.0/pxcodes/').auth(user.username, 'wrong');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(challenge);
    expect(res.body).toEqual({ status: 401, error: 'Unauthorized', message: 'invalid username or password' });
  });

  test('when the user is unknown, then the same 401 as a wrong password', async () => {
    const { app } = buildTestApp(database.db);
    const res = await request(app).get('/api/v1.0/pxcodes/').auth('nobody', 'wrong');
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('invalid username or password');
  });

  test('when the user is unknown, then checking takes as long as for a wrong password', async () => {
    const { app } = buildTestApp(database.db);
    const time = async (username: string) => {
      const started = process.hrtime.bigint();
      await request(app).get('/api/v1.0/pxcodes/').auth(username, 'wrong');
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    await time('warm-up');
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 5; i++) {
      unknown.push(await time('nobody'));
      wrong.push(await time(user.username));
    }
    // Both run the slow hash (tens of ms); without the dummy hash an unknown user would take ~1 ms.
    expect(median(unknown) / median(wrong)).toBeGreaterThan(0.5);
    expect(median(unknown) / median(wrong)).toBeLessThan(2);
  });

  test('when the scheme is neither Basic nor Bearer, then 401 with the Basic challenge', async () => {
    const { app } = buildTestApp(database.db);
    const res = await request(app).get('/api/v1.0/pxcodes/').set('Authorization', 'Digest username="x"');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(challenge);
    expect(res.body.message).toBe('authentication required');
  });

  test.each([['Basic'], ['Basic !!!'], [`Basic ${Buffer.from('no-colon').toString('base64')}`]])(
    'when the header is %s, then 400 says the credentials are malformed',
    async (header) => {
      const { app } = buildTestApp(database.db);
      const res = await request(app).get('/api/v1.0/pxcodes/').set('Authorization', header);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        status: 400,
        error: 'Bad Request',
        message: 'the Authorization header is not valid Basic or Bearer credentials',
      });
    },
  );

  test('when the password contains colons, then it is read whole (passport-http alone cuts it)', async () => {
    await addTestUser(database.db, 'colons', 'pa:ss:word');
    const { app } = buildTestApp(database.db);
    const ok = await request(app).get('/api/v1.0/pxcodes/').set('Authorization', basic('colons:pa:ss:word'));
    expect(ok.status).toBe(200);
    const cut = await request(app).get('/api/v1.0/pxcodes/').set('Authorization', basic('colons:pa'));
    expect(cut.status).toBe(401);
  });

  test('when the password starts with a colon, then it still works', async () => {
    await addTestUser(database.db, 'leading', ':secret');
    const { app } = buildTestApp(database.db);
    const res = await request(app).get('/api/v1.0/pxcodes/').set('Authorization', basic('leading::secret'));
    expect(res.status).toBe(200);
  });

  test('when user name and password are not ASCII, then UTF-8 credentials work', async () => {
    await addTestUser(database.db, 'jürgen', 'pässwörd-密码-🔑');
    const { app } = buildTestApp(database.db);
    const res = await request(app).get('/api/v1.0/pxcodes/').set('Authorization', basic('jürgen:pässwörd-密码-🔑'));
    expect(res.status).toBe(200);
    const other = await request(app).get('/api/v1.0/pxcodes/').set('Authorization', basic('jürgen:passwort'));
    expect(other.status).toBe(401);
  });

  test('when the user name is sent in another Unicode form (NFD), then it is the same user, for passwords and tokens', async () => {
    await addTestUser(database.db, 'ma\u00f1ana', 'pw-nfc'); // stored in NFC
    const { app, credentialCache } = buildTestApp(database.db);
    const nfd = 'man\u0303ana';
    expect((await request(app).get('/api/v1.0/pxcodes/').set('Authorization', basic(`${nfd}:pw-nfc`))).status).toBe(200);
    expect((await request(app).get('/api/v1.0/pxcodes/').set('Authorization', basic('ma\u00f1ana:pw-nfc'))).status).toBe(200);
    expect(credentialCache.size).toBe(1); // one user, one entry
    const issued = await request(app).get('/auth/request-token').set('Authorization', basic(`${nfd}:pw-nfc`));
    expect(issued.status).toBe(200);
    expect(JSON.parse(Buffer.from((issued.body.token as string).split('.')[1]!, 'base64url').toString()).sub).toBe('ma\u00f1ana');
    expect((await request(app).get('/api/v1.0/pxcodes/').set('Authorization', `Bearer ${issued.body.token}`)).status).toBe(200);
    // A name added in NFD is stored in NFC.
    await addTestUser(database.db, 'Zo\u0308e', 'pw');
    expect(await database.db('starter_users').where({ username: 'Z\u00f6e' }).first()).toBeDefined();
    expect((await request(app).get('/api/v1.0/pxcodes/').set('Authorization', basic('Z\u00f6e:pw'))).status).toBe(200);
  });

  test('when a user name of 100 characters holds characters outside the BMP, then it signs in (names count code points, as the column)', async () => {
    const name = '🔑'.repeat(60) + 'k'.repeat(40); // 100 code points, 160 UTF-16 units
    await addTestUser(database.db, name, 'pw-long-name');
    const { app } = buildTestApp(database.db);
    expect((await request(app).get('/api/v1.0/pxcodes/').set('Authorization', basic(`${name}:pw-long-name`))).status).toBe(200);
    const issued = await request(app).get('/auth/request-token').set('Authorization', basic(`${name}:pw-long-name`));
    expect(issued.status).toBe(200);
    expect((await request(app).get('/api/v1.0/pxcodes/').set('Authorization', `Bearer ${issued.body.token}`)).status).toBe(200);
  });

  test('when the user name is longer than any name, then 401 (not a database error)', async () => {
    const { app } = buildTestApp(database.db);
    const res = await request(app).get('/api/v1.0/pxcodes/').set('Authorization', basic(`${'x'.repeat(500)}:pw`));
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('invalid username or password');
  });

  test.each([
    ['a NUL in the user name', 'a\0b', 'pw', 'user name'],
    ['a C0 control in the user name', `${user.username}\u0001`, user.password, 'user name'],
    ['DEL in the user name', 'a\u007f', 'pw', 'user name'],
    ['a C1 control (NEL) in the user name', 'a\u0085', 'pw', 'user name'],
    ['a tab in the password', user.username, 'pass\tword', 'password'],
    ['a NUL in the password', user.username, `${user.password}\0`, 'password'],
    ['a C1 control in the password', user.username, 'pw\u009b', 'password'],
  ])('when basic credentials carry %s (RFC 7617 forbids it), then 400 naming it, and no login attempt is counted', async (_what, name, password, field) => {
    const { app } = buildTestApp(database.db, { loginThrottle: new LoginThrottle(1, 2) });
    for (let i = 0; i < 3; i++) {
      const res = await request(app).get('/api/v1.0/pxcodes/').set('Authorization', basic(`${name}:${password}`));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ status: 400, error: 'Bad Request', message: `the ${field} in the Authorization header must not contain control characters` });
    }
    // Nothing was booked by the failed-login throttle (one failure a minute): a guess is still a plain 401.
    expect((await request(app).get('/api/v1.0/pxcodes/').auth(user.username, 'wrong')).status).toBe(401);
  });

  test('when /health and /ready are called, then no credentials are needed', async () => {
    const { app } = buildTestApp(database.db);
    expect((await request(app).get('/health')).status).toBe(200);
    expect((await request(app).get('/ready')).status).toBe(200);
  });

  test('when an unknown path under /api/v1.0 is called without credentials, then 401 (nothing is revealed)', async () => {
    const { app } = buildTestApp(database.db);
    expect((await request(app).get('/api/v1.0/secret')).status).toBe(401);
    expect((await request(app).get('/api/v1.0/secret').auth(user.username, user.password)).status).toBe(404);
  });

  test('when requests carry credentials, then the Authorization header never reaches the logs', async () => {
    const { app, logs } = buildTestApp(database.db);
    await request(app).get('/api/v1.0/pxcodes/').auth(user.username, user.password);
    await request(app).get('/api/v1.0/pxcodes/').auth(user.username, 'a-wrong-secret');
    const text = logs.raw.join('\n');
    expect(logs.lines.length).toBeGreaterThanOrEqual(2);
    expect(text).not.toContain(user.password);
    expect(text).not.toContain('a-wrong-secret');
    expect(text).not.toContain(Buffer.from(`${user.username}:${user.password}`).toString('base64'));
  });
});

describe('the verified-credential cache', () => {
  test('when the same credentials come again, then they are answered from the cache, not the hash', async () => {
    await addTestUser(database.db, 'cached', 'first-password');
    const { app, credentialCache } = buildTestApp(database.db);
    expect((await request(app).get('/api/v1.0/pxcodes/').auth('cached', 'first-password')).status).toBe(200);
    expect(credentialCache.size).toBe(1);
    // Behind this cache's back (no change listener here), the stored hash stops matching.
    await setPassword(database.db, 'cached', 'second-password');
    for (let i = 0; i < 5; i++) {
      expect((await request(app).get('/api/v1.0/pxcodes/').auth('cached', 'first-password')).status).toBe(200);
    }
    credentialCache.invalidateUser('cached');
    expect((await request(app).get('/api/v1.0/pxcodes/').auth('cached', 'first-password')).status).toBe(401);
  });

  test('when a cached token is sent as basic user "" with password "token\\0<JWT>", then /auth/request-token issues nothing (a token cannot renew itself)', async () => {
    const { app, credentialCache } = buildTestApp(database.db);
    const issued = await request(app).get('/auth/request-token').auth(user.username, user.password);
    expect(issued.status).toBe(200);
    const token = issued.body.token as string;
    // The token is used once, so it is in the credential cache.
    expect((await request(app).get('/api/v1.0/pxcodes/').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    const renewed = await request(app).get('/auth/request-token').set('Authorization', basic(`:token\0${token}`));
    expect(renewed.status).toBe(400); // refused for the control character, before the cache is asked
    expect(renewed.body.token).toBeUndefined();
    // Behind that refusal, the cache's keys hold on their own: the same spelling, checked as a password, meets no entry.
    const authenticator = new Authenticator(database.db, credentialCache, new LoginThrottle(10, 1));
    expect(await authenticator.checkPassword('', `token\0${token}`, '10.9.0.1')).toBeUndefined();
  });

  test('when a wrong password is sent, then nothing is cached', async () => {
    const { app, credentialCache } = buildTestApp(database.db);
    await request(app).get('/api/v1.0/pxcodes/').auth(user.username, 'nope');
    expect(credentialCache.size).toBe(0);
  });

  test('when the users table is recreated (resetdb) or truncated, then every cached credential goes', async () => {
    const own = await createTestDatabase();
    const credentialCache = new CredentialCache(60_000, 100);
    const listener = listenForChanges(own.url, { [usersChannel]: credentialInvalidation(credentialCache) }, createLogger('silent'));
    try {
      await addTestUser(own.db, 'before-reset', 'pw');
      const { app } = buildTestApp(own.db, { credentialCache });
      await waitUntil(async () => {
        await request(app).get('/api/v1.0/pxcodes/').auth('before-reset', 'pw');
        return credentialCache.size === 1;
      });
      await recreateSchema(own.db);
      await waitUntil(async () => credentialCache.size === 0);
      expect((await request(app).get('/api/v1.0/pxcodes/').auth('before-reset', 'pw')).status).toBe(401);

      await addTestUser(own.db, 'before-truncate', 'pw');
      await waitUntil(async () => {
        await request(app).get('/api/v1.0/pxcodes/').auth('before-truncate', 'pw');
        return credentialCache.size === 1;
      });
      await own.db.raw('truncate starter_users');
      await waitUntil(async () => credentialCache.size === 0);
      expect((await request(app).get('/api/v1.0/pxcodes/').auth('before-truncate', 'pw')).status).toBe(401);
    } finally {
      await listener.stop();
      await own.drop();
    }
  });

  test('when a password changes in the database, then the old password stops working at once', async () => {
    await addTestUser(database.db, 'changer', 'old-password');
    const credentialCache = new CredentialCache(60_000, 100);
    const listener = listenForChanges(database.url, { [usersChannel]: credentialInvalidation(credentialCache) }, createLogger('silent'));
    try {
      const { app } = buildTestApp(database.db, { credentialCache });
      await waitUntil(async () => {
        await request(app).get('/api/v1.0/pxcodes/').auth('changer', 'old-password');
        return credentialCache.size === 1; // cached once the listener is connected
      });
      await setPassword(database.db, 'changer', 'new-password');
      await waitUntil(async () => credentialCache.size === 0);
      expect((await request(app).get('/api/v1.0/pxcodes/').auth('changer', 'old-password')).status).toBe(401);
      expect((await request(app).get('/api/v1.0/pxcodes/').auth('changer', 'new-password')).status).toBe(200);

      await deleteUser(database.db, 'changer');
      await waitUntil(async () => credentialCache.size === 0);
      expect((await request(app).get('/api/v1.0/pxcodes/').auth('changer', 'new-password')).status).toBe(401);
    } finally {
      await listener.stop();
    }
  });
});

describe('the login throttle', () => {
  test('when a client sends too many wrong passwords, then 429 with Retry-After, before any hash runs', async () => {
    const { app } = buildTestApp(database.db, { loginThrottle: new LoginThrottle(3, 2) });
    // A client that signed in before the flood stays signed in: its credentials are cached.
    expect((await request(app).get('/api/v1.0/pxcodes/').auth(user.username, user.password)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      expect((await request(app).get('/api/v1.0/pxcodes/').auth(user.username, `wrong-${i}`)).status).toBe(401);
    }
    const started = process.hrtime.bigint();
    const blocked = await request(app).get('/api/v1.0/pxcodes/').auth(user.username, 'wrong-again');
    const blockedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(blocked.body).toEqual({
      status: 429,
      error: 'Too Many Requests',
      message: `too many failed logins from this address; try again in ${blocked.headers['retry-after']} s`,
    });
    expect(blockedMs).toBeLessThan(40); // no scrypt (tens of ms) behind a 429
    // Answered at the door: without verified credentials, a blocked address gets 429 for anything under /api.
    expect((await request(app).get('/api/v1.0/pxcodes/')).status).toBe(429);
    expect((await request(app).post('/api/v1.0/pxcodes/').auth(user.username, 'x').send({})).status).toBe(429);
    expect((await request(app).get('/api/v1.0/pxcodes/').auth(user.username, user.password)).status).toBe(200);
    // Not cached yet, from the same address: it waits out the block like any other new login.
    await addTestUser(database.db, 'newcomer', 'pw');
    expect((await request(app).get('/api/v1.0/pxcodes/').auth('newcomer', 'pw')).status).toBe(429);
  });

  test('when a blocked client keeps on, then its 429s come a quarter of a second late, while verified clients are answered at once', async () => {
    const { app } = buildTestApp(database.db, { loginThrottle: new LoginThrottle(1, 2) });
    const server = await new Promise<Server>((resolve) => {
      const listening = createServer(app).listen(0, '127.0.0.1', () => resolve(listening));
    });
    try {
      const list = () => request(server).get('/api/v1.0/pxcodes/');
      expect((await list().auth(user.username, user.password)).status).toBe(200);
      await list().auth(user.username, 'wrong-1');
      expect((await list().auth(user.username, 'wrong-2')).status).toBe(429); // the throttle's own answer
      const timed = async (send: () => Promise<{ status: number }>) => {
        const started = performance.now();
        const { status } = await send();
        return { status, ms: performance.now() - started };
      };
      // A flood on 16 connections: every refusal is held, so it cannot make the server busy.
      const flood = await Promise.all(Array.from({ length: 16 }, (_, i) => timed(() => list().auth(user.username, `guess-${i}`))));
      for (const { status, ms } of flood) {
        expect(status).toBe(429);
        expect(ms).toBeGreaterThanOrEqual(245);
      }
      const verified = await timed(() => list().auth(user.username, user.password));
      expect(verified.status).toBe(200);
      expect(verified.ms).toBeLessThan(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('when a blocked client pipelines guesses behind a held answer, then its connection is cut', async () => {
    const { app } = buildTestApp(database.db, { loginThrottle: new LoginThrottle(1, 2) });
    const server = await new Promise<Server>((resolve) => {
      const listening = createServer(app).listen(0, '127.0.0.1', () => resolve(listening));
    });
    try {
      const port = (server.address() as AddressInfo).port;
      const guess = (password: string) =>
        `GET /api/v1.0/pxcodes/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${Buffer.from(`${user.username}:${password}`).toString('base64')}\r\n\r\n`;
      await request(server).get('/api/v1.0/pxcodes/').auth(user.username, 'wrong-1');
      await request(server).get('/api/v1.0/pxcodes/').auth(user.username, 'wrong-2'); // blocked from here on
      const started = performance.now();
      const answered = await rawHttp(port, Array.from({ length: 50 }, (_, i) => guess(`guess-${i}`)).join(''));
      expect(answered.match(/HTTP\/1\.1 /g) ?? []).toHaveLength(0);
      expect(performance.now() - started).toBeLessThan(1000);
      expect((await request(server).get('/api/v1.0/pxcodes/').auth(user.username, user.password)).status).toBe(429);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('when wrong passwords come in a burst, all at once, then only the allowed number is hashed', async () => {
    const { app } = buildTestApp(database.db, { loginThrottle: new LoginThrottle(3, 2) });
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(app).get('/api/v1.0/pxcodes/').auth(user.username, `guess-${i}`)),
    );
    const statuses = burst.map((res) => res.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(17);
  });

  test('when twice the budget of correct logins come at once with a cold cache (as after a database restart), then none is refused and the address is not blocked', async () => {
    const loginThrottle = new LoginThrottle(3, 2);
    const { app } = buildTestApp(database.db, { credentialCache: new CredentialCache(0, 100), loginThrottle });
    const burst = await Promise.all(Array.from({ length: 6 }, () => request(app).get('/api/v1.0/pxcodes/').auth(user.username, user.password)));
    expect(burst.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect((await request(app).get('/api/v1.0/pxcodes/')).status).toBe(401); // not blocked at the door
    // The whole budget is still there: three wrong passwords are checked, the fourth is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await request(app).get('/api/v1.0/pxcodes/').auth(user.username, `wrong-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  test("when a verified client's cache entry expires during a block, then it is checked again, not refused", async () => {
    const credentialCache = new CredentialCache(1, 100); // entries go stale after 1 ms
    const { app } = buildTestApp(database.db, { credentialCache, loginThrottle: new LoginThrottle(2, 2) });
    expect((await request(app).get('/api/v1.0/pxcodes/').auth(user.username, user.password)).status).toBe(200);
    for (let i = 0; i < 3; i++) await request(app).get('/api/v1.0/pxcodes/').auth(user.username, `wrong-${i}`);
    expect((await request(app).get('/api/v1.0/pxcodes/').auth(user.username, 'wrong-3')).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await request(app).get('/api/v1.0/pxcodes/').auth(user.username, user.password)).status).toBe(200);
  });

  test('when an attempt is given back after its window rolled over, then the new window gets no extra attempt', async () => {
    const created: Limiter[] = [];
    // Windows of a second, so that one rolls over within the test.
    const shortWindows: LimiterFactory = (options) => {
      const limiter = memoryLimiters({ ...options, duration: 1, blockDuration: 1 });
      created.push(limiter);
      return limiter;
    };
    const throttle = new LoginThrottle(2, 2, 256, shortWindows);
    const failures = created[0]!;
    expect(await throttle.begin('10.7.0.1', 'late')).toBeUndefined();
    await waitUntil(async () => (await failures.get('10.7.0.1')) === null, 3000);
    await throttle.givenBack('10.7.0.1', 'late'); // lands in a window that never booked it
    for (const name of ['a', 'b']) {
      expect(await throttle.begin('10.7.0.1', name)).toBeUndefined();
      throttle.failed('10.7.0.1', name);
    }
    expect(await throttle.begin('10.7.0.1', 'c')).toMatchObject({ by: 'address' });
  });

  test('when no hashing slot is free, then 503 with Retry-After and the attempt is given back (the budget stays whole)', async () => {
    const loginThrottle = new LoginThrottle(2, 1, 0); // one slot, no queue
    const { app } = buildTestApp(database.db, { loginThrottle });
    let release = () => undefined as void;
    const occupied = loginThrottle.withHashSlot(() => new Promise<void>((resolve) => (release = resolve)));
    try {
      for (let i = 0; i < 4; i++) {
        const res = await request(app).get('/api/v1.0/pxcodes/').auth(user.username, `wrong-${i}`);
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBe('1');
        expect(res.body).toEqual({ status: 503, error: 'Service Unavailable', message: 'too many logins are being checked; try again shortly' });
      }
    } finally {
      release();
      await occupied;
    }
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(app).get('/api/v1.0/pxcodes/').auth(user.username, `wrong-${i}`)).status);
    expect(statuses).toEqual([401, 401, 429]);
  });

  test('when more hashes are asked for than may run, then they wait their turn, and beyond the queue get none', async () => {
    const throttle = new LoginThrottle(10, 2, 1);
    let running = 0;
    let most = 0;
    const releases: (() => void)[] = [];
    const hash = () =>
      new Promise<string>((resolve) => {
        running++;
        most = Math.max(most, running);
        releases.push(() => {
          running--;
          resolve('done');
        });
      });
    const results = [throttle.withHashSlot(hash), throttle.withHashSlot(hash), throttle.withHashSlot(hash), throttle.withHashSlot(hash)];
    expect(await results[3]).toBeUndefined(); // two running, one waiting: the fourth is refused
    await waitUntil(() => releases.length === 2);
    releases.shift()!();
    await waitUntil(() => releases.length === 2); // the waiting one got the slot
    releases.splice(0).forEach((release) => release());
    expect(await Promise.all(results.slice(0, 3))).toEqual(['done', 'done', 'done']);
    expect(most).toBe(2);
  });
});
