import type { ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { parseAuthorization, tokenOf, type AuthenticatedUser, type Authenticator, type Authorization } from './auth';
import type { RateLimitSetting } from './config';
import { HttpError } from './errors';
import type { Limiter, LimiterFactory } from './limiters';
import type { Logger } from './logger';
import { unverifiedSubject } from './tokens/tokens';

/** Which budget a request was charged to, kept for the step after authentication. */
const chargedTo = new WeakMap<Request, string>();

/**
 * RATE_LIMIT: N requests per window, per authenticated user, and per client address for requests
 * not (yet) authenticated. Counted at the door, before any work: a request whose credentials this
 * process verified before is charged to its user at once; any other is refused at once if the
 * user it claims to be has spent its budget (read only: a claim spends nothing), else charged to
 * its address and moved to its user once authentication succeeds. Every answer carries the
 * seed's X-RateLimit-* headers and the IETF RateLimit-Policy / RateLimit fields.
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

  /** Counts the request before anything else is done for it; 429 when its budget is spent. */
  door(authenticator: Authenticator): RequestHandler {
    return (req, res, next) => {
      const authorization = parseAuthorization(req.headers.authorization);
      const known = authenticator.known(authorization);
      const key = known ? userKey(known) : `ip:${req.ip ?? 'unknown'}`;
      chargedTo.set(req, key);
      const claimed = known ? undefined : claimedUser(authorization);
      // No password is hashed for a user who is over the limit anyway.
      (claimed === undefined ? Promise.resolve() : this.refuseIfSpent(`user:${claimed}`, res))
        .then(() => this.charge(key, res))
        .then(() => next(), next);
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

  /** For a user whose credentials were verified before (the cached-answers front): 429 as an HttpError. */
  chargeUser(user: AuthenticatedUser, res: ServerResponse): Promise<void> {
    return this.charge(userKey(user), res);
  }

  private async refuseIfSpent(key: string, res: ServerResponse): Promise<void> {
    let state: RateLimiterRes | null;
    try {
      state = await this.limiter.get(key);
    } catch {
      return; // the charge that follows reports a failing store
    }
    if (state && state.consumedPoints >= this.setting.points) throw this.refusal(state, res);
  }

  private refusal(result: RateLimiterRes, res: ServerResponse): HttpError {
    this.setHeaders(res, result);
    const seconds = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    return new HttpError(
      429,
      `rate limit exceeded: ${this.setting.points} requests per ${this.setting.durationSeconds} s; try again in ${seconds} s`,
      { 'Retry-After': String(seconds) },
    );
  }

  private async charge(key: string, res: ServerResponse): Promise<void> {
    let result: RateLimiterRes;
    try {
      result = await this.limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        // Neither Redis nor the in-memory fallback answered: let the request through.
        this.logger.warn({ err: rejection }, 'rate limit store failed; request let through');
        return;
      }
      throw this.refusal(rejection, res);
    }
    this.setHeaders(res, result);
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

/** Who the credentials say they are, before anything is verified. */
function claimedUser(authorization: Authorization): string | undefined {
  if (typeof authorization !== 'object') return undefined;
  const token = tokenOf(authorization);
  if (token !== undefined) return unverifiedSubject(token);
  return authorization.scheme === 'basic' ? authorization.username : undefined;
}
