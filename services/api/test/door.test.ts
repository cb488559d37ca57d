import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { rateLimit } from '../src/config';
import { LoginThrottle } from '../src/auth/loginThrottle';
import { Door } from '../src/front/door';
import { memoryLimiters } from '../src/limits/limiters';
import { RequestRateLimiter } from '../src/limits/rateLimit';
import { createLogger } from '../src/logger';

/** A request and its response on a socket of their own, as node:http makes them; nothing is sent. */
function exchange(socket = new Socket()): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(socket);
  return { req, res: new ServerResponse(req) };
}

const someone = { id: 1, username: 'someone', tokenVersion: 'v' };
const delayMs = 30;

/** A throttle that has blocked `client`: one failure allowed a minute, and two made. */
async function blockedThrottle(client: string): Promise<LoginThrottle> {
  const throttle = new LoginThrottle(1, 1);
  expect(await throttle.begin(client, 'someone')).toBeUndefined();
  throttle.failed(client, 'someone');
  expect(await throttle.begin(client, 'someone')).toEqual({ by: 'address', seconds: expect.any(Number) });
  expect(throttle.blockedFor(client)).toBeGreaterThan(0);
  return throttle;
}

const rateLimiter = (limit: string) => new RequestRateLimiter(rateLimit.parse(limit), memoryLimiters, createLogger('silent'));

describe('the door without a rate limit', () => {
  test('when the client is not blocked, then it lets the request on, as a promise like every answer', async () => {
    const { req, res } = exchange();
    const admitted = new Door(new LoginThrottle(5, 1), undefined).admit(req, res, '10.0.0.1', undefined);
    expect(admitted).toBeInstanceOf(Promise);
    expect(await admitted).toBeUndefined();
  });

  test('when the client is blocked, then 429 with Retry-After, held for the delay, without the request budget headers', async () => {
    const door = new Door(await blockedThrottle('10.0.0.2'), undefined, delayMs);
    const { req, res } = exchange();
    res.setHeader('X-RateLimit-Limit', '5');
    const started = performance.now();
    const refusal = await door.admit(req, res, '10.0.0.2', undefined);
    expect(performance.now() - started).toBeGreaterThanOrEqual(delayMs - 5);
    expect(refusal).toEqual({ status: 429, message: expect.stringMatching(/^too many failed logins from this address; try again in \d+ s$/), headers: { 'Retry-After': expect.stringMatching(/^\d+$/) } });
    expect(res.getHeader('X-RateLimit-Limit')).toBeUndefined();
  });

  test('when the credentials were verified before, then a blocked address does not block them', async () => {
    const door = new Door(await blockedThrottle('10.0.0.3'), undefined, delayMs);
    const { req, res } = exchange();
    expect(await door.admit(req, res, '10.0.0.3', someone)).toBeUndefined();
  });

  test('when a blocked client sends again on a connection whose refusal is on hold, then that connection is cut and nothing more answered', async () => {
    const door = new Door(await blockedThrottle('10.0.0.4'), undefined, delayMs);
    const socket = new Socket();
    const first = exchange(socket);
    const held = door.admit(first.req, first.res, '10.0.0.4', undefined);
    const second = exchange(socket);
    const pipelined = door.admit(second.req, second.res, '10.0.0.4', undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(socket.destroyed).toBe(true);
    expect((await held)?.status).toBe(429);
    const never = Symbol('pending');
    expect(await Promise.race([pipelined, new Promise((resolve) => setTimeout(() => resolve(never), delayMs * 2))])).toBe(never);
  });
});

describe('the door with a rate limit', () => {
  test('when a request comes with unknown credentials, then it is charged to its address, and the charge is noted on the request', async () => {
    const door = new Door(new LoginThrottle(5, 1), rateLimiter('2/1m'));
    const { req, res } = exchange();
    expect(await door.admit(req, res, '10.0.1.1', undefined)).toBeUndefined();
    expect(req.rateLimitCharge).toBe('ip:10.0.1.1');
    expect(res.getHeader('X-RateLimit-Remaining')).toBe('1');
  });

  test('when the credentials were verified before, then the request is charged to their user, not the address', async () => {
    const door = new Door(new LoginThrottle(5, 1), rateLimiter('2/1m'));
    const { req, res } = exchange();
    expect(await door.admit(req, res, '10.0.1.2', someone)).toBeUndefined();
    expect(req.rateLimitCharge).toBe('user:someone');
  });

  test('when the budget is spent, then 429 naming the rate limit, before the failed-login block is looked at', async () => {
    const door = new Door(await blockedThrottle('10.0.1.3'), rateLimiter('1/1m'), delayMs);
    const first = exchange();
    expect((await door.admit(first.req, first.res, '10.0.1.3', undefined))?.message).toMatch(/^too many failed logins/);
    const second = exchange();
    const refusal = await door.admit(second.req, second.res, '10.0.1.3', undefined);
    expect(refusal?.message).toMatch(/^rate limit exceeded: 1 requests per 60 s; try again in \d+ s$/);
    expect(second.res.getHeader('X-RateLimit-Remaining')).toBe('0');
  });
});
