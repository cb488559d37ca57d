import type { Database } from '../db/database';
import { HttpError } from '../errors';
import {
  authFailure,
  basicChallenge,
  bearerChallenge,
  controlCharacterRefusal,
  credentialsOf,
  tokenOf,
  type AuthFailure,
  type Authorization,
} from './authorization';
import type { CredentialCache } from './credentialCache';
import { tooManyAttempts, type LoginThrottle } from './loginThrottle';
import type { Tokens } from './tokens';
import type { AuthenticatedUser } from '../users/authenticatedUser';
import { isPossibleUsername } from '../users/names';
import { findTokenHolder, findUserByName, type User } from '../users/repository';
import { verifyAgainstNothing, verifyPassword } from '../users/passwords';

/** What an endpoint accepts: passwords, tokens, or both; and why it refuses a token. */
export interface Accepts {
  passwords: boolean;
  tokens: boolean;
  tokensRefused?: string;
}

export type Verdict = { user: AuthenticatedUser } | { failure: AuthFailure };

export interface Remembered {
  user: AuthenticatedUser;
  fresh: boolean;
  token: boolean;
}

const busy = () => new HttpError(503, 'too many logins are being checked; try again shortly', { 'Retry-After': '1' });

const refused = (status: AuthFailure['status'], message: string, challenge?: string): Verdict => ({ failure: authFailure(status, message, challenge) });

/** Checks passwords and tokens; what passed is cached, so each check's slow part runs once. */
export class Authenticator {
  constructor(
    private readonly db: Database,
    private readonly cache: CredentialCache,
    private readonly throttle: LoginThrottle,
    private readonly tokens?: Tokens,
  ) {}

  /** The user these credentials are for at an endpoint that accepts `accepts`, or why not. */
  async verify(authorization: Authorization, accepts: Accepts, client: string): Promise<Verdict> {
    const credentials = credentialsOf(authorization);
    if ('status' in credentials) return { failure: credentials };
    if (credentials.kind === 'token') {
      if (!accepts.tokens) return refused(401, accepts.tokensRefused ?? 'token authentication is off (AUTH_MODES); use a user name and password');
      const user = await this.checkToken(credentials.token);
      return user ? { user } : refused(401, 'invalid or expired token', credentials.bearer ? bearerChallenge : basicChallenge);
    }
    if (!accepts.passwords) return refused(401, 'passwords are accepted only at /auth/request-token (AUTH_MODES=token): send a token');
    const { username, password } = credentials;
    const failure = controlCharacterRefusal(username, password);
    if (failure) return { failure };
    const user = await this.checkPassword(username, password, client);
    return user ? { user } : refused(401, 'invalid username or password');
  }

  /** Cached credentials pass at once; anything else passes the login throttle, then waits for a hashing slot. */
  async checkPassword(username: string, password: string, client: string): Promise<AuthenticatedUser | undefined> {
    const { cache, throttle } = this;
    const cached = cache.lookup(username, password);
    if (cached?.fresh) return cached.user;
    // Credentials verified a moment ago (now stale) are no guess: they are not throttled.
    const throttled = !cached;
    const refusal = throttled ? await throttle.begin(client, username) : undefined;
    if (refusal?.by === 'busy') throw busy();
    if (refusal) {
      const { status, message, headers } = tooManyAttempts(refusal.seconds, refusal.by);
      throw new HttpError(status, message, headers);
    }
    const generation = cache.generation;
    let user: User | undefined;
    let valid: boolean | undefined;
    try {
      // Names no user can have (PostgreSQL cannot even compare a NUL) cost the same time, no query.
      user = isPossibleUsername(username) ? await findUserByName(this.db, username) : undefined;
      valid = await throttle.withHashSlot(() => (user ? verifyPassword(password, user.password_hash) : verifyAgainstNothing(password)));
      if (valid === undefined) throw busy();
    } catch (error) {
      // A server-side failure (database down, no hashing slot) is no failed login: the attempt is given back.
      if (throttled) await throttle.givenBack(client, username);
      throw error;
    }
    if (!user || !valid) {
      if (throttled) throttle.failed(client, username);
      return undefined;
    }
    if (throttled) await throttle.succeeded(client, username);
    const authenticated = { id: user.id, username: user.username, tokenVersion: user.token_version };
    cache.set(username, password, authenticated, generation);
    return authenticated;
  }

  /** Signature and expiry, then its user's token_version (a password change or removal voids it). */
  async checkToken(token: string): Promise<AuthenticatedUser | undefined> {
    if (!this.tokens) return undefined;
    const cached = this.cache.getToken(token);
    if (cached) return cached;
    const generation = this.cache.generation;
    const claims = await this.tokens.verify(token);
    if (!claims || !isPossibleUsername(claims.username)) return undefined;
    const holder = await findTokenHolder(this.db, claims.username);
    if (!holder || holder.id !== claims.userId || holder.token_version !== claims.tokenVersion) return undefined;
    const user = { id: holder.id, username: holder.username, tokenVersion: holder.token_version };
    this.cache.setToken(token, user, generation, claims.expiresAt);
    return user;
  }

  /** What this process remembers of these credentials, for one HMAC and no other work. */
  remembered(authorization: Authorization): Remembered | undefined {
    if (typeof authorization !== 'object') return undefined;
    const token = tokenOf(authorization);
    if (token !== undefined) {
      const user = this.cache.getToken(token);
      return user && { user, fresh: true, token: true };
    }
    if (authorization.scheme !== 'basic') return undefined;
    const found = this.cache.lookup(authorization.username, authorization.password);
    return found && { ...found, token: false };
  }
}

/** What verify() would conclude from the cache alone, if fresh. */
export function verifiedUser(remembered: Remembered | undefined, accepts: Accepts): AuthenticatedUser | undefined {
  if (!remembered?.fresh) return undefined;
  return (remembered.token ? accepts.tokens : accepts.passwords) ? remembered.user : undefined;
}
