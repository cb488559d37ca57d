import { createHmac, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import passport from 'passport';
import { BasicStrategy } from 'passport-http';
import type { Database } from '../db/database';
import { HttpError, type Refusal } from '../errors';
import type { LoginThrottle } from './loginThrottle';
import { looksLikeToken, type Tokens } from './tokens';
import { findTokenHolder, findUserByName, type User } from '../users/repository';
import { verifyAgainstNothing, verifyPassword } from '../users/passwords';

export interface AuthenticatedUser {
  id: number;
  username: string;
  /** The user's token_version when verified: what a token issued now carries. */
  tokenVersion: string;
}

interface CacheEntry {
  user: AuthenticatedUser;
  expiresAt: number;
}

/**
 * Remembers credentials that passed the slow hash (and tokens that passed their checks), so the hash runs once per credential change,
 * not once per request. Keys are an HMAC of user and password under a per-process secret: the
 * passwords themselves are never held, and a lookup reveals nothing through timing.
 */
export class CredentialCache {
  private readonly secret = randomBytes(32);
  private readonly entries = new Map<string, CacheEntry>();
  private enabled = true;
  /**
   * Bumped by every invalidation. A check that started before a password change finishes after
   * it; it passes the generation it started in to set(), which then refuses to cache.
   */
  private currentGeneration = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A kind byte, then each field with its length in front: no password, user name or token can
   * be spelt so that its key is another's (a separator could be smuggled into a field).
   */
  private key(kind: 'p' | 't', ...fields: string[]): string {
    const hmac = createHmac('sha256', this.secret).update(kind);
    for (const field of fields) {
      const bytes = Buffer.from(field, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      hmac.update(length).update(bytes);
    }
    return hmac.digest('base64');
  }

  private passwordKey(username: string, password: string): string {
    return this.key('p', username, password);
  }

  private tokenKey(token: string): string {
    return this.key('t', token);
  }

  get(username: string, password: string): AuthenticatedUser | undefined {
    const found = this.lookup(username, password);
    return found?.fresh ? found.user : undefined;
  }

  /**
   * Like get(), but also answers for an entry past its TTL (kept until evicted or invalidated):
   * such credentials were right a moment ago, so checking them again is no guess to throttle.
   */
  lookup(username: string, password: string): { user: AuthenticatedUser; fresh: boolean } | undefined {
    if (!this.enabled) return undefined;
    const entry = this.entries.get(this.passwordKey(username, password));
    return entry && { user: entry.user, fresh: entry.expiresAt > this.now() };
  }

  /** A token verified before, while its entry lasts (never past the token's own expiry). */
  getToken(token: string): AuthenticatedUser | undefined {
    if (!this.enabled) return undefined;
    const entry = this.entries.get(this.tokenKey(token));
    return entry && entry.expiresAt > this.now() ? entry.user : undefined;
  }

  get generation(): number {
    return this.currentGeneration;
  }

  set(username: string, password: string, user: AuthenticatedUser, startedIn: number): void {
    this.store(this.passwordKey(username, password), user, startedIn, this.now() + this.ttlMs);
  }

  setToken(token: string, user: AuthenticatedUser, startedIn: number, tokenExpiresAt: number): void {
    this.store(this.tokenKey(token), user, startedIn, Math.min(this.now() + this.ttlMs, tokenExpiresAt));
  }

  private store(key: string, user: AuthenticatedUser, startedIn: number, expiresAt: number): void {
    if (!this.enabled || this.ttlMs <= 0 || this.maxEntries <= 0 || startedIn !== this.currentGeneration) return;
    this.entries.delete(key);
    this.entries.set(key, { user, expiresAt });
    // A Map iterates in insertion order: the first key is the oldest entry.
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Drops every entry of this user (password changed, user removed). */
  invalidateUser(username: string): void {
    this.currentGeneration++;
    for (const [key, entry] of this.entries) if (entry.user.username === username) this.entries.delete(key);
  }

  /** Drops everything (the users table was truncated or recreated). */
  clear(): void {
    this.currentGeneration++;
    this.entries.clear();
  }

  /**
   * While changes to users cannot be heard (the listener is down), nothing is cached, so a
   * changed password never keeps working for the length of the TTL.
   */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    if (!enabled) this.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

export type Authorization =
  | { scheme: 'basic'; username: string; password: string }
  | { scheme: 'bearer'; token: string }
  | 'absent'
  | 'malformed';

/**
 * Basic per RFC 7617: the user-id ends at the first colon and the password is everything after
 * it, colons included, in UTF-8 (passport-http 0.3 splits on every colon and cuts such passwords
 * short). Bearer per RFC 6750.
 */
export function parseAuthorization(header: string | undefined): Authorization {
  if (!header) return 'absent';
  const bearer = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i.exec(header);
  if (bearer?.[1]) return { scheme: 'bearer', token: bearer[1] };
  if (/^Bearer(\s|$)/i.test(header)) return 'malformed';
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (!match?.[1]) return /^Basic(\s|$)/i.test(header) ? 'malformed' : 'absent';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  // User names are NFC everywhere (stored, cached, counted); the password is normalised where it is hashed.
  return { scheme: 'basic', username: decoded.slice(0, colon).normalize('NFC'), password: decoded.slice(colon + 1) };
}

/** A token arrives as Bearer, or as the seed sends it: the basic user name with an empty password. */
export function tokenOf(authorization: Authorization): string | undefined {
  if (typeof authorization !== 'object') return undefined;
  if (authorization.scheme === 'bearer') return authorization.token;
  return authorization.password === '' && looksLikeToken(authorization.username) ? authorization.username : undefined;
}

/** C0, DEL and C1 controls. */
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/;

const isPossibleUsername = (name: string) => name.length > 0 && name.length <= 100 && !name.includes('\0');

/** 429 for a client address, or a user name, with too many recent failed logins. */
export function tooManyAttempts(retryAfter: number, by: 'address' | 'name' = 'address'): Refusal {
  const from = by === 'address' ? 'from this address' : 'for this user name';
  return {
    status: 429,
    message: `too many failed logins ${from}; try again in ${retryAfter} s`,
    headers: { 'Retry-After': String(retryAfter) },
  };
}

/**
 * The request budget's headers (RATE_LIMIT) come off a failed-login 429: they describe another
 * limit, and its Retry-After says all there is.
 */
export function withoutRequestBudget(res: ServerResponse): void {
  for (const name of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'RateLimit-Policy', 'RateLimit']) res.removeHeader(name);
}

/** Checks passwords and tokens; what passed is cached, so each check's slow part runs once. */
export class Authenticator {
  constructor(
    private readonly db: Database,
    private readonly cache: CredentialCache,
    private readonly throttle: LoginThrottle,
    private readonly tokens?: Tokens,
  ) {}

  /**
   * Cached credentials pass at once. Anything else costs a slow hash, so it first passes the login
   * throttle (429 for a client with too many recent failures) and waits for a hashing slot.
   */
  async checkPassword(username: string, password: string, client: string): Promise<AuthenticatedUser | undefined> {
    const { cache, throttle } = this;
    const cached = cache.lookup(username, password);
    if (cached?.fresh) return cached.user;
    // Credentials verified a moment ago (now stale) are no guess: they are not throttled.
    const throttled = !cached;
    const refused = throttled ? await throttle.begin(client, username) : undefined;
    if (refused?.by === 'busy') throw new HttpError(503, 'too many logins are being checked; try again shortly', { 'Retry-After': '1' });
    if (refused) {
      const { status, message, headers } = tooManyAttempts(refused.seconds, refused.by);
      throw new HttpError(status, message, headers);
    }
    const generation = cache.generation;
    let user: User | undefined;
    let valid: boolean | undefined;
    try {
      // Names no user can have (PostgreSQL cannot even compare a NUL) cost the same time, no query.
      user = isPossibleUsername(username) ? await findUserByName(this.db, username) : undefined;
      valid = await throttle.withHashSlot(() =>
        user ? verifyPassword(password, user.password_hash) : verifyAgainstNothing(password),
      );
      if (valid === undefined) throw new HttpError(503, 'too many logins are being checked; try again shortly', { 'Retry-After': '1' });
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

  /**
   * A token passes when its signature and expiry hold and its user still exists with the same
   * token_version (a password change or removal voids it); then it is cached like a password.
   */
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

  /**
   * What this process remembers of these credentials, with no work done (one HMAC): the user they
   * were verified for, whether that is fresh, and whether they are a token (a token is remembered
   * only while fresh).
   */
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

export interface Remembered {
  user: AuthenticatedUser;
  fresh: boolean;
  token: boolean;
}

/**
 * The user, when the credentials passed their check moments ago and are of a kind the endpoint
 * accepts: what passport would conclude from the cache.
 */
export function verifiedUser(remembered: Remembered | undefined, accepts: Accepts): AuthenticatedUser | undefined {
  if (!remembered?.fresh) return undefined;
  return (remembered.token ? accepts.tokens : accepts.passwords) ? remembered.user : undefined;
}

/** What an endpoint accepts: passwords, tokens, or both; and why it refuses a token. */
export interface Accepts {
  passwords: boolean;
  tokens: boolean;
  tokensRefused?: string;
}

const realm = 'starter';
const basicChallenge = `Basic realm="${realm}", charset="UTF-8"`;
// RFC 6750: a Bearer token that failed is answered with a Bearer challenge naming the error.
const bearerChallenge = `Bearer realm="${realm}", error="invalid_token"`;

interface Failure {
  status: 400 | 401;
  message: string;
  challenge: string;
}

/** passport-http's strategy (name, challenge) reading RFC 7617 Basic, tokens as the seed sends them, and Bearer. */
class CredentialsStrategy extends BasicStrategy {
  // Set on each request by passport (passport.Strategy's augmented API, missing from the typings).
  declare fail: (challenge: Failure, status?: number) => void;
  declare success: (user: AuthenticatedUser) => void;
  declare error: (error: Error) => void;

  constructor(
    private readonly authenticator: Authenticator,
    private readonly accepts: Accepts,
  ) {
    super({ realm }, () => undefined);
  }

  override authenticate(req: Request): void {
    const authorization = parseAuthorization(req.headers.authorization);
    if (authorization === 'absent') return this.refuse(401, 'authentication required');
    if (authorization === 'malformed') return this.refuse(400, 'the Authorization header is not valid Basic or Bearer credentials');
    const token = tokenOf(authorization);
    let check: Promise<AuthenticatedUser | undefined>;
    let failure: string;
    let bearer = false;
    if (token !== undefined || authorization.scheme === 'bearer') {
      if (!this.accepts.tokens) {
        return this.refuse(401, this.accepts.tokensRefused ?? 'token authentication is off (AUTH_MODES); use a user name and password');
      }
      check = this.authenticator.checkToken(token ?? '');
      failure = 'invalid or expired token';
      bearer = authorization.scheme === 'bearer';
    } else {
      if (!this.accepts.passwords) {
        return this.refuse(401, 'passwords are accepted only at /auth/request-token (AUTH_MODES=token): send a token');
      }
      // RFC 7617 forbids control characters in both; refused before any lookup, throttle or hash.
      if (controlCharacter.test(authorization.username)) return this.refuse(400, 'the user name in the Authorization header must not contain control characters');
      if (controlCharacter.test(authorization.password)) return this.refuse(400, 'the password in the Authorization header must not contain control characters');
      check = this.authenticator.checkPassword(authorization.username, authorization.password, req.ip ?? 'unknown');
      failure = 'invalid username or password';
    }
    check.then(
      (user) => (user ? this.success(user) : this.refuse(401, failure, bearer ? bearerChallenge : basicChallenge)),
      (error: unknown) => this.error(error as Error),
    );
  }

  private refuse(status: Failure['status'], message: string, challenge = basicChallenge): void {
    this.fail({ status, message, challenge }, status);
  }
}

/** Authentication through passport; refusals answer in the API's JSON error shape. */
export function authenticate(authenticator: Authenticator, accepts: Accepts): RequestHandler {
  const passportInstance = new passport.Passport();
  passportInstance.use('credentials', new CredentialsStrategy(authenticator, accepts));
  return (req, res, next) => {
    passportInstance.authenticate(
      'credentials',
      { session: false },
      (error: unknown, user: AuthenticatedUser | false, refusal: Failure | undefined) => {
        if (error) {
          if (error instanceof HttpError && error.status === 429) withoutRequestBudget(res);
          return next(error);
        }
        if (user) {
          req.user = user;
          return next();
        }
        const { status, message, challenge } = refusal ?? { status: 401, message: 'authentication required', challenge: basicChallenge };
        next(new HttpError(status, message, status === 401 ? { 'WWW-Authenticate': challenge } : {}));
      },
    )(req, res, next);
  };
}
