import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Refusal } from '../errors';
import { tooManyAttempts, type LoginThrottle } from '../auth/loginThrottle';
import { withoutRequestBudget, type RequestRateLimiter } from '../limits/rateLimit';
import type { AuthenticatedUser } from '../users/authenticatedUser';

/**
 * The rate limit, then the failed-login block, before any other work. A blocked client is answered
 * `blockedAnswerDelayMs` late, one answer held per connection, so a flood of guesses cannot take
 * the cores verified clients need.
 */
export class Door {
  private readonly held = new WeakSet<Socket>();

  constructor(
    private readonly throttle: LoginThrottle,
    private readonly rateLimiter: RequestRateLimiter | undefined,
    private readonly blockedAnswerDelayMs = 250,
  ) {}

  /** `known`: the user these credentials were verified for before, if any. */
  async admit(req: IncomingMessage, res: ServerResponse, client: string, known: AuthenticatedUser | undefined): Promise<Refusal | undefined> {
    const refusal = await this.rateLimiter?.admit(req, res, known, client);
    return refusal ?? (known ? undefined : this.blocked(req, res, client));
  }

  private blocked(req: IncomingMessage, res: ServerResponse, client: string): Promise<Refusal> | undefined {
    const seconds = this.throttle.blockedFor(client);
    if (seconds === 0) return undefined;
    const { socket } = req;
    if (this.held.has(socket)) {
      // Guesses pipelined behind a held answer: the connection is cut, nothing more is answered.
      socket.destroy();
      return new Promise<never>(() => undefined);
    }
    this.held.add(socket);
    withoutRequestBudget(res);
    return new Promise<Refusal>((resolve) =>
      setTimeout(() => {
        this.held.delete(socket);
        resolve(tooManyAttempts(seconds));
      }, this.blockedAnswerDelayMs),
    );
  }
}
