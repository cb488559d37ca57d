import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { tokenOf, type AuthenticatedUser, type Authorization } from './auth';
import type { RateLimitSetting } from './config';
import { sendError, type Refusal } from './errors';
import type { Limiter, LimiterFactory } from './limiters';
import type { Logger } from './logger';
import { unverifiedSubject } from './tokens/tokens';

/** Which budget a request was charged to, kept for the step after authentication. */
const chargedTo = new WeakMap<IncomingMessage, string>();

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

  /**
   * Counts the request before anything else is done for it (see Door): the refusal to answer when
   * its budget is spent. `known` is the user these credentials were verified for before, if any.
   */
  async admit(req: IncomingMessage, res: ServerResponse, authorization: Authorization, known: AuthenticatedUser | undefined, client: string): Promise<Refusal | undefined> {
    const key = known ? userKey(known) : `ip:${client}`;
    chargedTo.set(req, key);
    const claimed = known ? undefined : claimedUser(authorization);
    if (claimed !== undefined) {
      // No password is hashed for a user who is over the limit anyway.
      const refusal = await this.refusalIfSpent(`user:${claimed}`, res);
      if (refusal) return refusal;
    }
    return this.charge(key, res);
  }

  /** After authentication: a request charged to its address is charged to its user instead. */
  afterAuthentication(): RequestHandler {
    return (req, res, next) => {
      const key = chargedTo.get(req);
      const user = req.user as AuthenticatedUser | undefined;
      if (!user || !key?.startsWith('ip:')) return next();
      chargedTo.set(req, userKey(user));
      void this.limiter.reward(key, 1).catch(() => undefined);
      this.charge(userKey(user), res).then((refusal) => (refusal ? sendError(res, refusal) : next()), next);
    };
  }

  private async refusalIfSpent(key: string, res: ServerResponse): Promise<Refusal | undefined> {
    let state: RateLimiterRes | null;
    try {
      state = await this.limiter.get(key);
    } catch {
      return undefined; // the charge that follows reports a failing store
    }
    return state && state.consumedPoints >= this.setting.points ? this.refusal(state, res) : undefined;
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

/** Who the credentials say they are, before anything is verified. */
function claimedUser(authorization: Authorization): string | undefined {
  if (typeof authorization !== 'object') return undefined;
  const token = tokenOf(authorization);
  if (token !== undefined) return unverifiedSubject(token);
  return authorization.scheme === 'basic' ? authorization.username : undefined;
}
