import type { Request, RequestHandler } from 'express';
import passport from 'passport';
import { BasicStrategy } from 'passport-http';
import { HttpError } from '../errors';
import { withoutRequestBudget } from '../limits/rateLimit';
import type { AuthenticatedUser } from '../users/authenticatedUser';
import type { Accepts, Authenticator } from './authenticator';
import { authFailure, parseAuthorization, realm, type AuthFailure, type Authorization } from './authorization';

type Done = (error: unknown, user?: AuthenticatedUser | false, failure?: AuthFailure) => void;
export type VerifyCredentials = (req: Request, authorization: Authorization, done: Done) => void;

/**
 * passport-http's BasicStrategy (its name, realm and verify contract), with the header read here:
 * one Authorization header carries RFC 7617 Basic (passport-http 0.3 cuts a password at its
 * second colon), Bearer and the seed's token-as-user-name, and each refusal has its own status.
 */
export class CredentialsStrategy extends BasicStrategy {
  // Set on each request by passport (passport.Strategy's augmented API, missing from the typings).
  declare fail: (failure: AuthFailure, status?: number) => void;
  declare success: (user: AuthenticatedUser) => void;
  declare error: (error: Error) => void;

  constructor(private readonly verifyCredentials: VerifyCredentials) {
    super({ realm, passReqToCallback: true }, (req, username, password, done) =>
      verifyCredentials(req, { scheme: 'basic', username: username.normalize('NFC'), password }, done),
    );
  }

  override authenticate(req: Request): void {
    this.verifyCredentials(req, parseAuthorization(req.headers.authorization), (error, user, failure) => {
      if (error) return this.error(error as Error);
      if (user) return this.success(user);
      const refusal = failure ?? authFailure(401, 'authentication required');
      this.fail(refusal, refusal.status);
    });
  }
}

/** One Passport per app, a strategy per kind of endpoint; refusals in the API's JSON error shape. */
export function passportAuthentication(authenticator: Authenticator): (name: string, accepts: Accepts) => RequestHandler {
  const instance = new passport.Passport();
  return (name, accepts) => {
    instance.use(
      name,
      new CredentialsStrategy((req, authorization, done) => {
        authenticator.verify(authorization, accepts, req.ip ?? 'unknown').then(
          (verdict) => ('user' in verdict ? done(null, verdict.user) : done(null, false, verdict.failure)),
          done,
        );
      }),
    );
    return (req, res, next) => {
      const answer = (error: unknown, user: AuthenticatedUser | false, failure: AuthFailure | undefined) => {
        if (error) {
          if (error instanceof HttpError && error.status === 429) withoutRequestBudget(res);
          return next(error);
        }
        if (user) {
          req.user = user;
          return next();
        }
        const { status, message, challenge } = failure ?? authFailure(401, 'authentication required');
        next(new HttpError(status, message, status === 401 ? { 'WWW-Authenticate': challenge } : {}));
      };
      instance.authenticate(name, { session: false }, answer)(req, res, next);
    };
  };
}
