import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { loadConfig } from '../src/config';
import { loadTokenSecret } from '../src/auth/tokenSecret';
import request from 'supertest';
import { CredentialCache } from '../src/auth/credentialCache';
import { recreateSchema } from '../src/db/database';
import { createLogger } from '../src/logger';
import { Tokens } from '../src/auth/tokens';
import { credentialInvalidation, usersChannel } from '../src/auth/credentialChanges';
import { listenForChanges } from '../src/db/changeListener';
import { createUser, deleteUser, setPassword } from '../src/users/repository';
import { addTestUser, buildTestApp, createTestDatabase, testTokenSecret, user, waitUntil, type TestDatabase } from './helpers';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await addTestUser(database.db);
});
afterAll(() => database.drop());

const list = '/api/v1.0/pxcodes/';

async function requestToken(app: ReturnType<typeof buildTestApp>['app'], username = user.username, password = user.password) {
  const res = await request(app).get('/auth/request-token').auth(username, password);
  expect(res.status).toBe(200);
  return res.body.token as string;
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('GET /auth/request-token', () => {
  test("when called with basic auth, then it answers {token, expires_in}, not to be stored (the seed's flow)", async () => {
    const { app } = buildTestApp(database.db);
    const res = await request(app).get('/auth/request-token').auth(user.username, user.password);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-cache, no-store, max-age=0');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body)).toEqual(['token', 'expires_in']);
    expect(res.body.expires_in).toBe(3600);
    // http --auth TOKEN: GET .../pxcodes/ (the token as user name, an empty password)
    const listed = await request(app).get(list).auth(res.body.token, '');
    expect(listed.status).toBe(200);
    expect(listed.body.meta).toMatchObject({ page: 1, per_page: 100 });
  });

  test('when the token is sent as Bearer, then it is accepted too', async () => {
    const { app } = buildTestApp(database.db);
    const token = await requestToken(app);
    const res = await request(app).get(list).set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
  });

  test('when a token asks for a new one, then 401: a leaked token cannot outlive TOKEN_TTL', async () => {
    const { app } = buildTestApp(database.db);
    const token = await requestToken(app);
    for (const res of [
      await request(app).get('/auth/request-token').set('Authorization', `Bearer ${token}`),
      await request(app).get('/auth/request-token').auth(token, ''),
    ]) {
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('a token cannot be renewed with a token: ask with the user name and password');
    }
  });

  test('when the token is a JWT with HS256, the issuer, the user and the TTL, then its claims say so', async () => {
    const { app } = buildTestApp(database.db, { tokens: new Tokens(testTokenSecret, 120) });
    const token = await requestToken(app);
    const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ iss: 'starter', sub: user.username });
    expect(payload.exp - payload.iat).toBe(120);
  });

  test.each([
    ['no credentials', undefined, 401, 'authentication required'],
    ['a wrong password', ['tester', 'wrong'], 401, 'invalid username or password'],
    ['an unknown user', ['nobody', 'wrong'], 401, 'invalid username or password'],
  ])('when called with %s (%j), then %i in the JSON error shape', async (_case, credentials, status, message) => {
    const { app } = buildTestApp(database.db);
    const req = request(app).get('/auth/request-token');
    const res = await (credentials ? req.auth(credentials[0]!, credentials[1]!) : req);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ status, error: 'Unauthorized', message });
    expect(res.headers['www-authenticate']).toBe('Basic realm="starter", charset="UTF-8"');
  });

  test('when another method is used, then 405 with Allow', async () => {
    const { app } = buildTestApp(database.db);
    const res = await request(app).post('/auth/request-token').auth(user.username, user.password);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS');
  });

  test('when tokens are off (AUTH_MODES=basic), then the route says so and Bearer is refused', async () => {
    const { app } = buildTestApp(database.db, { tokens: undefined });
    const res = await request(app).get('/auth/request-token').auth(user.username, user.password);
    expect(res.status).toBe(404);
    expect(res.body.message).toBe('token authentication is off (AUTH_MODES does not include token)');
    const token = await requestToken(buildTestApp(database.db).app);
    const refused = await request(app).get(list).set('Authorization', `Bearer ${token}`);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toBe('token authentication is off (AUTH_MODES); use a user name and password');
    expect((await request(app).get(list).auth(user.username, user.password)).status).toBe(200);
  });
});

describe('tokens that must not pass', () => {
  const refused = { status: 401, error: 'Unauthorized', message: 'invalid or expired token' };
  let app: ReturnType<typeof buildTestApp>['app'];
  let holder: { id: number; token_version: string };

  beforeAll(async () => {
    app = buildTestApp(database.db).app;
    holder = await database.db('starter_users').where({ username: user.username }).first('id', 'token_version');
  });

  const claims = () => ({ uid: holder.id, ver: holder.token_version });
  const sign = (secret: string, alg = 'HS256', expires: number | string = '1h') =>
    new SignJWT(claims())
      .setProtectedHeader({ alg })
      .setIssuer('starter')
      .setSubject(user.username)
      .setIssuedAt()
      .setExpirationTime(expires)
      .sign(new TextEncoder().encode(secret));

  test('when a genuine token is signed here, then it passes (the cases below differ in one thing each)', async () => {
    expect((await request(app).get(list).auth(await sign(testTokenSecret), '')).status).toBe(200);
  });

  test('when the token has expired, then 401', async () => {
    const expired = await sign(testTokenSecret, 'HS256', Math.floor(Date.now() / 1000) - 1);
    const res = await request(app).get(list).auth(expired, '');
    expect(res.status).toBe(401);
    expect(res.body).toEqual(refused);
  });

  test('when a short TTL runs out, then the token stops working', async () => {
    // Two seconds: exp counts from the whole second of issue, so a 1 s token can be void at its first use.
    const shortLived = buildTestApp(database.db, { tokens: new Tokens(testTokenSecret, 2) }).app;
    const token = await requestToken(shortLived);
    expect((await request(shortLived).get(list).auth(token, '')).status).toBe(200); // cached now
    // jose allows no clock tolerance here: the token is void once its exp second has passed.
    await waitUntil(async () => (await request(shortLived).get(list).auth(token, '')).status === 401, 4000);
  });

  test('when the payload is tampered with, then 401', async () => {
    const [header, , signature] = (await sign(testTokenSecret)).split('.');
    const forged = `${header}.${base64url({ ...claims(), sub: 'admin', iss: 'starter', exp: 9999999999 })}.${signature}`;
    const res = await request(app).get(list).set('Authorization', `Bearer ${forged}`);
    expect(res.body).toEqual(refused);
  });

  test('when the token says alg "none" and carries no signature, then 401', async () => {
    const payload = { ...claims(), sub: user.username, iss: 'starter', exp: Math.floor(Date.now() / 1000) + 600 };
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(payload)}.`;
    const res = await request(app).get(list).auth(unsigned, '');
    expect(res.body).toEqual(refused);
  });

  test('when the token is signed with another secret, then 401', async () => {
    const res = await request(app).get(list).auth(await sign('some-other-secret-that-is-long-enough!!'), '');
    expect(res.body).toEqual(refused);
  });

  test('when the token uses another algorithm (HS512, same secret), then 401', async () => {
    const res = await request(app).get(list).auth(await sign(testTokenSecret, 'HS512'), '');
    expect(res.body).toEqual(refused);
  });

  test('when a Bearer token fails, then the challenge is Bearer with error="invalid_token" (RFC 6750)', async () => {
    const res = await request(app).get(list).set('Authorization', 'Bearer not.a.token');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="starter", error="invalid_token"');
    const asUserName = await request(app).get(list).auth('not.a-token.at-all-but-shaped-like-one', '');
    expect(asUserName.headers['www-authenticate']).toBe('Basic realm="starter", charset="UTF-8"');
  });

  test('when the token is garbage, then 401; an empty password is no way in either', async () => {
    expect((await request(app).get(list).set('Authorization', 'Bearer not-a-token')).body).toEqual(refused);
    expect((await request(app).get(list).auth('a.b.c-looks-like-a-token-but-is-not', '')).body).toEqual(refused);
    expect((await request(app).get(list).auth(user.username, '')).status).toBe(401);
  });
});

describe('a token stops working when its user changes', () => {
  test('when the password changes or the user is removed, then the token fails on every replica at once', async () => {
    await createUser(database.db, 'holder', 'first-password');
    // Two replicas, each with its own cache, each hearing user changes from PostgreSQL.
    const replicas = [0, 1].map(() => {
      const credentialCache = new CredentialCache(60_000, 100);
      const listener = listenForChanges(database.url, { [usersChannel]: credentialInvalidation(credentialCache) }, createLogger('silent'));
      return { ...buildTestApp(database.db, { credentialCache }), listener };
    });
    try {
      const token = await requestToken(replicas[0]!.app, 'holder', 'first-password');
      for (const replica of replicas) {
        await waitUntil(async () => {
          expect((await request(replica.app).get(list).auth(token, '')).status).toBe(200);
          return replica.credentialCache.size > 0; // cached once the listener is connected
        });
      }
      await setPassword(database.db, 'holder', 'second-password');
      for (const replica of replicas) {
        await waitUntil(() => replica.credentialCache.size === 0);
        const res = await request(replica.app).get(list).auth(token, '');
        expect(res.status).toBe(401);
        expect(res.body.message).toBe('invalid or expired token');
      }

      const second = await requestToken(replicas[1]!.app, 'holder', 'second-password');
      expect((await request(replicas[0]!.app).get(list).auth(second, '')).status).toBe(200);
      await deleteUser(database.db, 'holder');
      for (const replica of replicas) {
        await waitUntil(async () => (await request(replica.app).get(list).auth(second, '')).status === 401);
      }
    } finally {
      await Promise.all(replicas.map((replica) => replica.listener.stop()));
    }
  });

  test('when the token was never cached, then a changed password voids it without any notification', async () => {
    await createUser(database.db, 'uncached', 'first-password');
    const issuer = buildTestApp(database.db).app;
    const token = await requestToken(issuer, 'uncached', 'first-password');
    await setPassword(database.db, 'uncached', 'first-password'); // even the same password, set again
    expect((await request(buildTestApp(database.db).app).get(list).auth(token, '')).status).toBe(401);
  });

  test('when the database is reset and the user created again (same id, same name), then old tokens fail', async () => {
    const own = await createTestDatabase();
    try {
      await createUser(own.db, 'admin', 'pw');
      const token = await requestToken(buildTestApp(own.db).app, 'admin', 'pw');
      await recreateSchema(own.db);
      await createUser(own.db, 'admin', 'pw');
      expect((await request(buildTestApp(own.db).app).get(list).auth(token, '')).status).toBe(401);
    } finally {
      await own.drop();
    }
  });
});

describe('AUTH_MODES=token (the seed: passwords only to get a token)', () => {
  test('when a password is sent to the API, then 401 says to use a token; the token works', async () => {
    const { app } = buildTestApp(database.db, { passwords: false });
    const res = await request(app).get(list).auth(user.username, user.password);
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('passwords are accepted only at /auth/request-token (AUTH_MODES=token): send a token');
    const token = await requestToken(app);
    expect((await request(app).get(list).auth(token, '')).status).toBe(200);
    expect((await request(app).get(list).set('Authorization', `Bearer ${token}`)).status).toBe(200);
  });
});

describe('tokens are never logged', () => {
  test('when a token is issued and used, then neither it nor the secret appear in the logs', async () => {
    const { app, logs } = buildTestApp(database.db);
    const token = await requestToken(app);
    await request(app).get(list).auth(token, '');
    await request(app).get(list).set('Authorization', `Bearer ${token}`);
    await request(app).get(list).set('Authorization', `Bearer ${token}x`);
    expect(logs.raw.length).toBeGreaterThanOrEqual(4);
    const all = logs.raw.join('\n');
    expect(all).not.toContain(token.split('.')[2]);
    expect(all).not.toContain(testTokenSecret);
    expect(all).not.toContain(Buffer.from(`${token}:`).toString('base64').slice(0, 40));
  });
});

describe('the token secret', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'starter-secret-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const embeddedConfig = () => loadConfig({ EMBEDDED_PG_DIR: path.join(dir, 'postgres') });
  const file = () => path.join(dir, 'token-secret');

  test('when the embedded PostgreSQL is used, then a secret is made once, private, and kept', async () => {
    const first = await loadTokenSecret(embeddedConfig());
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect((await stat(file())).mode & 0o777).toBe(0o600);
    expect(await loadTokenSecret(embeddedConfig())).toBe(first);
  });

  test('when several processes start at once, then they all end up with the one secret kept', async () => {
    const secrets = await Promise.all([0, 1, 2, 3].map(() => loadTokenSecret(embeddedConfig())));
    expect(new Set(secrets).size).toBe(1);
    expect((await readFile(file(), 'utf8')).trim()).toBe(secrets[0]);
  });

  test('when the file is readable by others or too short, then start-up is refused, naming the file', async () => {
    await writeFile(file(), 'x'.repeat(64), { mode: 0o600 });
    await chmod(file(), 0o644);
    await expect(loadTokenSecret(embeddedConfig())).rejects.toThrow(`${file()}: the token secret must be a file of this user readable by no one else`);
    await chmod(file(), 0o600);
    await writeFile(file(), 'short\n');
    await expect(loadTokenSecret(embeddedConfig())).rejects.toThrow('the token secret is shorter than 32 characters');
  });

  test('when TOKEN_SECRET is set, then it is used as given; with DATABASE_URL it is required', async () => {
    const secret = 'given-secret-given-secret-given-secret';
    expect(await loadTokenSecret(loadConfig({ TOKEN_SECRET: secret, DATABASE_URL: 'postgres://x@h/db' }))).toBe(secret);
    await expect(loadTokenSecret(loadConfig({ DATABASE_URL: 'postgres://x@h/db' }))).rejects.toThrow('TOKEN_SECRET: required with DATABASE_URL');
  });
});
