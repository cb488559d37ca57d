import type { Request, RequestHandler, Response } from 'express';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { parseAuthorization, type AuthenticatedUser, type Authenticator } from './auth';
import type { RateLimitSetting } from './config';
import { HttpError } from './errors';
import type { LimiterFactory } from './limiters';
import type { Logger } from './logger';

/** Which budget a request was charged to, kept for the step after authentication. */
const chargedTo = new WeakMap<Request, string>();

/**
 * RATE_LIMIT: N requests per window, per authenticated user, and per client address for requests
 * not (yet) authenticated. Counted at the door, before any work: a request whose credentials this
 * process verified before is charged to its user at once; any other is charged to its address,
 * and moved to its user once authentication succeeds. Every answer carries the seed's
 * X-RateLimit-* headers and the IETF RateLimit-Policy / RateLimit fields.
 */
export class RequestRateLimiter {
  private readonly limiter: RateLimiterAbstract;
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

  /** Counts the request before anything else is done for it; 429 when its budget is spent. */
  door(authenticator: Authenticator): RequestHandler {
    return (req, res, next) => {
      const known = authenticator.known(parseAuthorization(req.headers.authorization));
      const key = known ? userKey(known) : `ip:${req.ip ?? 'unknown'}`;
      chargedTo.set(req, key);
      this.charge(key, res).then(() => next(), next);
    };
  }

  /** After authentication: a request charged to its address is charged to its user instead. */
  afterAuthentication(): RequestHandler {
    return (req, res, next) => {
      const key = chargedTo.get(req);
      const user = req.user as AuthenticatedUser | undefined;
      if (!user || !key?.startsWith('ip:')) return next();
      chargedTo.set(req, userKey(user));
      void this.limiter.reward(key, 1).catch(() => undefined);
      this.charge(userKey(user), res).then(() => next(), next);
    };
  }

  private async charge(key: string, res: Response): Promise<void> {
    let result: RateLimiterRes;
    try {
      result = await this.limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        // Neither the store nor its in-memory insurance answered: let the request through.
        this.logger.warn({ err: rejection }, 'rate limit store failed; request let through');
        return;
      }
      this.setHeaders(res, rejection);
      const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new HttpError(
        429,
        `rate limit exceeded: ${this.setting.points} requests per ${this.setting.durationSeconds} s; try again in ${seconds} s`,
        { 'Retry-After': String(seconds) },
      );
    }
    this.setHeaders(res, result);
  }

  private setHeaders(res: Response, result: RateLimiterRes): void {
    const remaining = Math.max(0, result.remainingPoints);
    const resetSeconds = Math.max(0, Math.ceil(result.msBeforeNext / 1000));
    res.set({
      'X-RateLimit-Limit': String(this.setting.points),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-Reset': String(Math.ceil((Date.now() + result.msBeforeNext) / 1000)),
      'RateLimit-Policy': this.policy,
      RateLimit: `"default";r=${remaining};t=${resetSeconds}`,
    });
  }
}

const userKey = (user: AuthenticatedUser) => `user:${user.username}`;
