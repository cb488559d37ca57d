import { createHmac, randomBytes } from 'node:crypto';
import type { AuthenticatedUser } from '../users/authenticatedUser';

interface CacheEntry {
  user: AuthenticatedUser;
  expiresAt: number;
}

/**
 * Credentials and tokens that passed their checks, so the slow hash runs once per credential, not
 * per request. Keyed by an HMAC under a per-process secret: no password is held.
 */
export class CredentialCache {
  private readonly secret = randomBytes(32);
  private readonly entries = new Map<string, CacheEntry>();
  private enabled = true;
  /** Bumped by every invalidation: a check that began before one is not cached (see set()'s startedIn). */
  private currentGeneration = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  // A kind byte, then each field behind its length: no spelling of one credential meets another's key.
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

  /** Also finds entries past their TTL: credentials right a moment ago are no guess to throttle. */
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
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  invalidateUser(username: string): void {
    this.currentGeneration++;
    for (const [key, entry] of this.entries) if (entry.user.username === username) this.entries.delete(key);
  }

  clear(): void {
    this.currentGeneration++;
    this.entries.clear();
  }

  /** Off while changes to users cannot be heard, so a changed password never outlives its change. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    // Either way: a check begun while changes went unheard may have read a password since changed.
    this.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
