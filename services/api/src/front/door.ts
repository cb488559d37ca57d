import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tooManyAttempts, withoutRequestBudget, type AuthenticatedUser } from '../auth/authenticator';
import type { Refusal } from '../errors';
import type { LoginThrottle } from '../auth/loginThrottle';
import type { RequestRateLimiter } from '../limits/rateLimit';

/**
 * What every request except the probes passes before any other work (body parsing, routing,
 * passport): the rate limit, then the failed-login block. Credentials this process verified
 * before are charged to their user and never blocked. A blocked client is answered without any
 * of that work, and `blockedAnswerDelayMs` late: a flood of guesses on N connections then gets at
 * most N answers per delay (a connection that pipelines more guesses behind a held answer is
 * cut), so it cannot take the cores that verified clients need (measured: a 16-connection flood
 * answered at once halved the list's rate), while the client learns the same (429, Retry-After)
 * soon enough.
 */
export class Door {
  /** Connections with a refusal on hold: one at a time each. */
  private readonly held = new WeakSet<Socket>();

  constructor(
    private readonly throttle: LoginThrottle,
    private readonly rateLimiter: RequestRateLimiter | undefined,
    private readonly blockedAnswerDelayMs = 250,
  ) {}

  /**
   * The refusal to answer, or undefined to go on (synchronous for most requests without a rate
   * limit). `known` is the user these credentials were verified for before, if any.
   */
  admit(req: IncomingMessage, res: ServerResponse, client: string, known: AuthenticatedUser | undefined): Refusal | undefined | Promise<Refusal | undefined> {
    const blocked = (): Refusal | undefined | Promise<Refusal> => {
      const seconds = known ? 0 : this.throttle.blockedFor(client);
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
    };
    if (!this.rateLimiter) return blocked();
    return this.rateLimiter.admit(req, res, known, client).then((refusal) => refusal ?? blocked());
  }
}
