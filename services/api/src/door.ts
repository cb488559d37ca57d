import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseAuthorization, tooManyAttempts, type Authenticator } from './auth';
import type { Refusal } from './errors';
import type { LoginThrottle } from './loginThrottle';
import type { RequestRateLimiter } from './rateLimit';

/**
 * What every request except the probes passes before any other work (body parsing, routing,
 * passport): the rate limit, then the failed-login block. Credentials this process verified
 * before are charged to their user and never blocked; a blocked client is answered at once, so
 * password guessing costs the server little and verified clients keep their share of it.
 */
export class Door {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly throttle: LoginThrottle,
    private readonly rateLimiter: RequestRateLimiter | undefined,
  ) {}

  /** The refusal to answer, or undefined to go on. Synchronous without a rate limit. */
  admit(req: IncomingMessage, res: ServerResponse, client: string): Refusal | undefined | Promise<Refusal | undefined> {
    const authorization = parseAuthorization(req.headers.authorization);
    const known = this.authenticator.known(authorization);
    const blocked = () => {
      const seconds = known ? 0 : this.throttle.blockedFor(client);
      return seconds > 0 ? tooManyAttempts(seconds) : undefined;
    };
    if (!this.rateLimiter) return blocked();
    return this.rateLimiter.admit(req, res, authorization, known, client).then((refusal) => refusal ?? blocked());
  }
}
