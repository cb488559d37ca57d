import { createHmac, randomBytes } from 'node:crypto';
import type { AuthenticatedUser } from '../users/authenticatedUser';

interface CacheEntry {
  user: AuthenticatedUser;
  expiresAt: number;
}

/**
 * Remembers credentials that passed the slow hash (and tokens that passed their checks), so the
 * hash runs once per credential change, not once per request. Keys are an HMAC under a
 * per-process secret: the passwords themselves are never held, and a lookup reveals nothing
 * through timing.
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
