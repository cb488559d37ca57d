import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { Authenticator, type Accepts } from '../src/auth/authenticator';
import { parseAuthorization } from '../src/auth/authorization';
import { CredentialCache } from '../src/auth/credentialCache';
import { LoginThrottle } from '../src/auth/loginThrottle';
import { BasicStrategy } from 'passport-http';
import { CredentialsStrategy, passportAuthentication } from '../src/auth/passport';
import { Tokens } from '../src/auth/tokens';
import { errorHandler } from '../src/errors';
import { createLogger } from '../src/logger';
import { addTestUser, basic, createTestDatabase, testTokenSecret, user, type TestDatabase } from './helpers';

let database: TestDatabase;
let tokens: Tokens;
let token: string;

beforeAll(async () => {
  database = await createTestDatabase();
  await addTestUser(database.db);
  tokens = new Tokens(testTokenSecret, 3600);
  const holder = await new Authenticator(database.db, new CredentialCache(60_000, 100), new LoginThrottle(100, 2)).checkPassword(user.username, user.password, 'setup');
  token = await tokens.issue(holder!);
});
afterAll(() => database.drop());

const both: Accepts = { passwords: true, tokens: true };
const basicChallenge = 'Basic realm="starter", charset="UTF-8"';
const bearerChallenge = 'Bearer realm="starter", error="invalid_token"';

const authenticator = (throttle = new LoginThrottle(100, 2)) => new Authenticator(database.db, new CredentialCache(60_000, 100), throttle, tokens);

describe("Authenticator.verify, the strategy's verify function", () => {
  const verify = (header: string | undefined, accepts = both) => authenticator().verify(parseAuthorization(header), accepts, '10.1.0.1');
  const holder = expect.objectContaining({ username: user.username });

  test('when the password is right, or the token genuine (Bearer or as the seed sends it), then the user', async () => {
    expect(await verify(basic(`${user.username}:${user.password}`))).toEqual({ user: holder });
    expect(await verify(`Bearer ${token}`)).toEqual({ user: holder });
    expect(await verify(basic(`${token}:`))).toEqual({ user: holder });
  });

  test('when the password is wrong, then 401 with the Basic challenge', async () => {
    expect(await verify(basic(`${user.username}:wrong`))).toEqual({ failure: { status: 401, message: 'invalid username or password', challenge: basicChallenge } });
  });

  test('when a Bearer token fails, then 401 with a Bearer challenge; a seed-style token that fails gets the Basic one', async () => {
    const forged = `${token.slice(0, -4)}AAAA`;
    expect(await verify(`Bearer ${forged}`)).toEqual({ failure: { status: 401, message: 'invalid or expired token', challenge: bearerChallenge } });
    expect(await verify(basic(`${forged}:`))).toEqual({ failure: { status: 401, message: 'invalid or expired token', challenge: basicChallenge } });
  });

  test('when the endpoint does not take the kind of credentials sent, then 401 saying so', async () => {
    const noTokens = { passwords: true, tokens: false, tokensRefused: 'no tokens here' };
    expect(await verify(`Bearer ${token}`, noTokens)).toMatchObject({ failure: { status: 401, message: 'no tokens here' } });
    const noPasswords = { passwords: false, tokens: true };
    expect(await verify(basic(`${user.username}:${user.password}`), noPasswords)).toMatchObject({ failure: { status: 401, message: expect.stringMatching(/^passwords are accepted only at/) } });
  });

  test('when no credentials, malformed ones or control characters are sent, then 401 or 400 before any check', async () => {
    expect(await verify(undefined)).toMatchObject({ failure: { status: 401, message: 'authentication required' } });
    expect(await verify('Basic !!!')).toMatchObject({ failure: { status: 400 } });
    expect(await verify(basic(`${user.username}:a\u0007b`))).toMatchObject({ failure: { status: 400, message: expect.stringContaining('password') } });
  });
});

describe('the strategy', () => {
  test("when passport-http's own Basic parsing runs, then it hands its user name and password to the same verify function", async () => {
    const seen: unknown[] = [];
    const strategy = new CredentialsStrategy((_req, authorization, done) => {
      seen.push(authorization);
      done(null, { id: 1, username: 'a', tokenVersion: 'v' });
    });
    const succeeded = new Promise((resolve) => (strategy.success = resolve));
    const req = { headers: { authorization: basic('a:pw') } } as unknown as express.Request;
    BasicStrategy.prototype.authenticate.call(strategy, req);
    expect(await succeeded).toEqual({ id: 1, username: 'a', tokenVersion: 'v' });
    expect(seen).toEqual([{ scheme: 'basic', username: 'a', password: 'pw' }]);
  });
});

describe('passport wiring: one Passport, a strategy per kind of endpoint', () => {
  function app(throttle?: LoginThrottle) {
    const authenticate = passportAuthentication(authenticator(throttle));
    const budget: RequestHandler = (_req, res, next) => void (res.setHeader('X-RateLimit-Limit', '9'), next());
    const whoAmI: RequestHandler = (req, res) => void res.json(req.user);
    const server = express();
    server.get('/both', budget, authenticate('both', both), whoAmI);
    server.get('/passwords', authenticate('passwords', { passwords: true, tokens: false, tokensRefused: 'passwords only' }), whoAmI);
    server.use(errorHandler(createLogger('silent')));
    return server;
  }

  test('when credentials pass, then req.user is the verified user, on each endpoint', async () => {
    const server = app();
    expect((await request(server).get('/both').set('Authorization', `Bearer ${token}`)).body).toMatchObject({ username: user.username });
    expect((await request(server).get('/passwords').auth(user.username, user.password)).body).toMatchObject({ username: user.username });
  });

  test("when credentials fail, then the refusal is answered in the API's JSON shape with the challenge of a 401, none with a 400", async () => {
    const server = app();
    const refused = await request(server).get('/passwords').set('Authorization', `Bearer ${token}`);
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe(basicChallenge);
    expect(refused.body).toEqual({ status: 401, error: 'Unauthorized', message: 'passwords only' });
    const malformed = await request(server).get('/both').set('Authorization', 'Basic');
    expect(malformed.status).toBe(400);
    expect(malformed.headers['www-authenticate']).toBeUndefined();
  });

  test("when the login throttle refuses, then its 429 carries Retry-After but not the request budget's headers", async () => {
    const server = app(new LoginThrottle(1, 2));
    expect((await request(server).get('/both').auth(user.username, 'wrong-1')).status).toBe(401);
    const res = await request(server).get('/both').auth(user.username, 'wrong-2');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.headers['x-ratelimit-limit']).toBeUndefined();
  });
});
