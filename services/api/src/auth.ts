import { createHmac, randomBytes } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import passport from 'passport';
import { BasicStrategy } from 'passport-http';
import type { Database } from './db';
import { HttpError } from './errors';
import type { LoginThrottle } from './loginThrottle';
import { findUserByName } from './users/repository';
import { verifyAgainstNothing, verifyPassword } from './users/passwords';

export interface AuthenticatedUser {
  id: number;
  username: string;
}

interface CacheEntry {
  user: AuthenticatedUser;
  expiresAt: number;
}

/**
 * Remembers credentials that passed the slow hash, so the hash runs once per credential change,
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

  private key(username: string, password: string): string {
    return createHmac('sha256', this.secret).update(username).update('\0').update(password).digest('base64');
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
    const entry = this.entries.get(this.key(username, password));
    return entry && { user: entry.user, fresh: entry.expiresAt > this.now() };
  }

  get generation(): number {
    return this.currentGeneration;
  }

  set(username: string, password: string, user: AuthenticatedUser, startedIn: number): void {
    if (!this.enabled || this.ttlMs <= 0 || this.maxEntries <= 0 || startedIn !== this.currentGeneration) return;
    const key = this.key(username, password);
    this.entries.delete(key);
    this.entries.set(key, { user, expiresAt: this.now() + this.ttlMs });
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

export type Credentials = { username: string; password: string };

/**
 * RFC 7617: the user-id ends at the first colon and the password is everything after it, colons
 * included, in UTF-8. passport-http 0.3 splits on every colon and cuts such passwords short.
 */
export function parseBasicAuthorization(header: string | undefined): Credentials | 'absent' | 'malformed' {
  if (!header) return 'absent';
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (!match?.[1]) return /^Basic(\s|$)/i.test(header) ? 'malformed' : 'absent';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const isPossibleUsername = (name: string) => name.length > 0 && name.length <= 100 && !name.includes('\0');

type Verify = (username: string, password: string, client: string) => Promise<AuthenticatedUser | undefined>;

function tooManyAttempts(retryAfter: number): HttpError {
  return new HttpError(429, `too many failed logins from this address; try again in ${retryAfter} s`, {
    'Retry-After': String(retryAfter),
  });
}

/**
 * Cached credentials pass at once. Anything else costs a slow hash, so it first passes the login
 * throttle (429 for a client with too many recent failures) and waits for a hashing slot.
 */
export function createVerifier(db: Database, cache: CredentialCache, throttle: LoginThrottle): Verify {
  return async (username, password, client) => {
    const cached = cache.lookup(username, password);
    if (cached?.fresh) return cached.user;
    // Credentials verified a moment ago (now stale) are no guess: they are not throttled.
    const throttled = !cached;
    const retryAfter = throttled ? await throttle.begin(client) : 0;
    if (retryAfter > 0) throw tooManyAttempts(retryAfter);
    const generation = cache.generation;
    // Names no user can have (PostgreSQL cannot even compare a NUL) cost the same time, no query.
    const user = isPossibleUsername(username) ? await findUserByName(db, username) : undefined;
    const valid = await throttle.withHashSlot(() =>
      user ? verifyPassword(password, user.password_hash) : verifyAgainstNothing(password),
    );
    if (valid === undefined) throw new HttpError(503, 'too many logins are being checked; try again shortly', { 'Retry-After': '1' });
    if (!user || !valid) return undefined;
    if (throttled) await throttle.succeeded(client);
    const authenticated = { id: user.id, username: user.username };
    cache.set(username, password, authenticated, generation);
    return authenticated;
  };
}

const realm = 'starter';

/** passport-http's strategy (name, challenge) with an RFC 7617 reading of the header. */
class BasicAuthStrategy extends BasicStrategy {
  // Set on each request by passport (passport.Strategy's augmented API, missing from the typings).
  declare fail: (challenge: string | number, status?: number) => void;
  declare success: (user: AuthenticatedUser) => void;
  declare error: (error: Error) => void;

  constructor(private readonly verify: Verify) {
    super({ realm }, () => undefined);
  }

  override authenticate(req: Request): void {
    const credentials = parseBasicAuthorization(req.headers.authorization);
    if (credentials === 'absent') return this.fail(`Basic realm="${realm}", charset="UTF-8"`, 401);
    if (credentials === 'malformed') return this.fail(400);
    this.verify(credentials.username, credentials.password, req.ip ?? 'unknown').then(
      (user) => (user ? this.success(user) : this.fail(`Basic realm="${realm}", charset="UTF-8"`, 401)),
      (error: unknown) => this.error(error as Error),
    );
  }
}

/**
 * At the door of the API: a blocked client (too many failed logins) is answered 429 before body
 * parsing, routing and passport, unless it brings credentials that were verified before. Password
 * guessing then costs the server little, and verified clients keep their share of it.
 */
export function rejectBlockedClients(cache: CredentialCache, throttle: LoginThrottle): RequestHandler {
  return (req, _res, next) => {
    const seconds = throttle.blockedFor(req.ip ?? 'unknown');
    if (seconds === 0) return next();
    const credentials = parseBasicAuthorization(req.headers.authorization);
    if (typeof credentials === 'object' && cache.lookup(credentials.username, credentials.password)) return next();
    next(tooManyAttempts(seconds));
  };
}

/** Basic auth through passport; failures answer in the API's JSON error shape. */
export function basicAuth(verify: Verify): RequestHandler {
  const authenticator = new passport.Passport();
  authenticator.use('basic', new BasicAuthStrategy(verify));
  return (req, res, next) => {
    authenticator.authenticate(
      'basic',
      { session: false },
      (error: unknown, user: AuthenticatedUser | false, challenge: unknown, status: unknown) => {
        if (error) return next(error);
        if (user) {
          req.user = user;
          return next();
        }
        if (status === 400 || challenge === 400) {
          return next(new HttpError(400, 'the Authorization header is not valid Basic credentials'));
        }
        const message = req.headers.authorization ? 'invalid username or password' : 'authentication required';
        next(new HttpError(401, message, { 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` }));
      },
    )(req, res, next);
  };
}
