import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { AuthenticatedUser } from '../users/authenticatedUser';
import type { RateLimitSetting } from '../config';
import { sendError, type Refusal } from '../errors';
import type { Limiter, LimiterFactory } from './limiters';
import type { Logger } from '../logger';

declare module 'node:http' {
  interface IncomingMessage {
    /** The budget the rate limit charged this request to, for the step after authentication. */
    rateLimitCharge?: string;
  }
}

const budgetHeaders = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'RateLimit-Policy', 'RateLimit'];

/** Off a failed-login 429: these headers describe another limit. */
export function withoutRequestBudget(res: ServerResponse): void {
  for (const name of budgetHeaders) res.removeHeader(name);
}

/**
 * RATE_LIMIT per user, and per address until authenticated: an unverified request never sees the
 * counters of the user it claims to be, which would tell a stranger about that user.
 */
export class RequestRateLimiter {
  private readonly limiter: Limiter;
  private readonly policy: string;

  constructor(
    private readonly setting: RateLimitSetting,
    limiters: LimiterFactory,
    private readonly logger: Logger,
  ) {
    // The policy is part of the key: a changed RATE_LIMIT starts counting afresh, not from the old window.
    this.limiter = limiters({ keyPrefix: `requests:${setting.text}`, points: setting.points, duration: setting.durationSeconds });
    this.policy = `"default";q=${setting.points};w=${setting.durationSeconds}`;
  }

  /** Charges the request (to `known`, the user verified before, else its address) and notes on it which budget. */
  async admit(req: IncomingMessage, res: ServerResponse, known: AuthenticatedUser | undefined, client: string): Promise<Refusal | undefined> {
    const key = known ? userKey(known) : `ip:${client}`;
    req.rateLimitCharge = key;
    return this.charge(key, res);
  }

  /** After authentication: a request charged to its address is charged to its user instead. */
  afterAuthentication(): RequestHandler {
    return (req, res, next) => {
      const key = req.rateLimitCharge;
      const user = req.user as AuthenticatedUser | undefined;
      if (!user || !key?.startsWith('ip:')) return next();
      req.rateLimitCharge = userKey(user);
      void this.limiter.reward(key, 1).catch(() => undefined);
      this.charge(userKey(user), res).then((refusal) => (refusal ? sendError(res, refusal) : next()), next);
    };
  }

  private refusal(result: RateLimiterRes, res: ServerResponse): Refusal {
    this.setHeaders(res, result);
    const seconds = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    return {
      status: 429,
      message: `rate limit exceeded: ${this.setting.points} requests per ${this.setting.durationSeconds} s; try again in ${seconds} s`,
      headers: { 'Retry-After': String(seconds) },
    };
  }

  private async charge(key: string, res: ServerResponse): Promise<Refusal | undefined> {
    let result: RateLimiterRes;
    try {
      result = await this.limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        // Neither Redis nor the in-memory fallback answered: let the request through.
        this.logger.warn({ err: rejection }, 'rate limit store failed; request let through');
        return undefined;
      }
      return this.refusal(rejection, res);
    }
    this.setHeaders(res, result);
    return undefined;
  }

  private setHeaders(res: ServerResponse, result: RateLimiterRes): void {
    const remaining = Math.max(0, result.remainingPoints);
    const resetSeconds = Math.max(0, Math.ceil(result.msBeforeNext / 1000));
    res.setHeader('X-RateLimit-Limit', String(this.setting.points));
    res.setHeader('X-RateLimit-Remaining', String(remaining));
    res.setHeader('X-RateLimit-Reset', String(Math.ceil((Date.now() + result.msBeforeNext) / 1000)));
    res.setHeader('RateLimit-Policy', this.policy);
    res.setHeader('RateLimit', `"default";r=${remaining};t=${resetSeconds}`);
  }
}

const userKey = (user: AuthenticatedUser) => `user:${user.username}`;

