import { createHash } from 'node:crypto';
import type { Refusal } from '../errors';
import { memoryLimiters, type Limiter, type LimiterFactory } from '../limits/limiters';
import { isPossibleUsername } from '../users/names';

/** A sign-in marks its address as known for that name for a day, whatever the replicas' caches forgot. */
const verifiedFor = 24 * 3600;

export interface LoginRefusal {
  by: 'address' | 'name' | 'busy';
  seconds: number;
}

export function tooManyAttempts(retryAfter: number, by: 'address' | 'name' = 'address'): Refusal {
  const from = by === 'address' ? 'from this address' : 'for this user name';
  return {
    status: 429,
    message: `too many failed logins ${from}; try again in ${retryAfter} s`,
    headers: { 'Retry-After': String(retryAfter) },
  };
}

/** Password guessing must not take the CPU: attempts are booked before hashing (docs/design.md, The door). */
export class LoginThrottle {
  private readonly failures: Limiter;
  private readonly nameFailures: Limiter;
  private readonly verified: Limiter;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Known without a round trip to the store. */
  private readonly blockedUntil = new Map<string, number>();
  /** Attempts of each address ('a:') and name ('n:') being checked here, and who waits for one to end. */
  private readonly inFlight = new Map<string, number>();
  private readonly settled = new Map<string, (() => void)[]>();
  private waitingForSettled = 0;

  constructor(
    private readonly failuresPerMinute: number,
    private readonly concurrentHashes: number,
    private readonly maxWaiting = 256,
    limiters: LimiterFactory = memoryLimiters,
    private readonly failuresPerNamePerMinute = failuresPerMinute * 3,
    private readonly verifiedForSeconds = verifiedFor,
  ) {
    this.failures = limiters({ keyPrefix: 'login-failures', points: failuresPerMinute, duration: 60, blockDuration: 60 });
    this.nameFailures = limiters({ keyPrefix: 'login-failures-name', points: failuresPerNamePerMinute, duration: 60, blockDuration: 60 });
    this.verified = limiters({ keyPrefix: 'login-verified', points: 1, duration: verifiedForSeconds });
  }

  async begin(client: string, name: string): Promise<LoginRefusal | undefined> {
    const address = `a:${client}`;
    const named = `n:${nameKey(name)}`;
    for (;;) {
      // Whether attempts were in flight before booking: one may end (and give its point back) meanwhile.
      let before = this.inFlight.has(address);
      const byAddress = await book(this.failures, this.failuresPerMinute, client);
      if (byAddress !== undefined) {
        const settled = await this.settle(address, before, () => giveBack(this.failures, client));
        if (settled === 'again') continue;
        if (settled === 'busy') return { by: 'busy', seconds: 1 };
        this.block(client, byAddress);
        return { by: 'address', seconds: seconds(byAddress) };
      }
      before = this.inFlight.has(named);
      const byName = await book(this.nameFailures, this.failuresPerNamePerMinute, nameKey(name));
      if (byName !== undefined && !(await this.verifiedBefore(client, name))) {
        // Refused for the name: the address's point is not spent.
        await giveBack(this.failures, client);
        const settled = await this.settle(named, before, () => giveBack(this.nameFailures, nameKey(name)));
        if (settled === 'again') continue;
        if (settled === 'busy') return { by: 'busy', seconds: 1 };
        return { by: 'name', seconds: seconds(byName) };
      }
      for (const key of [address, named]) this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
      return undefined;
    }
  }

  async succeeded(client: string, name: string): Promise<void> {
    try {
      await this.giveBackBoth(client, name);
      if (this.failuresPerNamePerMinute > 0) await this.verified.set(verifiedKey(client, name), 1, this.verifiedForSeconds);
    } finally {
      this.ended(client, name);
    }
  }

  failed(client: string, name: string): void {
    this.ended(client, name);
  }

  async givenBack(client: string, name: string): Promise<void> {
    await this.giveBackBoth(client, name).catch(() => undefined);
    this.ended(client, name);
  }

  private async giveBackBoth(client: string, name: string): Promise<void> {
    if (this.failuresPerMinute > 0) {
      const left = await giveBack(this.failures, client);
      // Back under the budget (attempts that were still in flight came right): no longer blocked.
      if (left < this.failuresPerMinute) this.blockedUntil.delete(client);
    }
    if (this.failuresPerNamePerMinute > 0) await giveBack(this.nameFailures, nameKey(name));
  }

  private ended(client: string, name: string): void {
    for (const key of [`a:${client}`, `n:${nameKey(name)}`]) {
      const count = (this.inFlight.get(key) ?? 1) - 1;
      if (count > 0) this.inFlight.set(key, count);
      else this.inFlight.delete(key);
      const waiters = this.settled.get(key);
      this.settled.delete(key);
      waiters?.forEach((wake) => wake());
    }
  }

  /** A spent budget with attempts in flight may yet come right: give the point back, book 'again' when one ends. */
  private async settle(key: string, before: boolean, giveBackRefused: () => Promise<unknown>): Promise<'refuse' | 'again' | 'busy'> {
    if (!this.inFlight.has(key)) {
      if (!before) return 'refuse';
      await giveBackRefused();
      return 'again';
    }
    if (this.waitingForSettled >= this.maxWaiting) {
      await giveBackRefused();
      return 'busy';
    }
    const waiters = this.settled.get(key) ?? [];
    this.settled.set(key, waiters);
    // Listening before the give-back's round trip, so an end during it is not missed.
    const oneEnded = new Promise<void>((resolve) => waiters.push(resolve));
    this.waitingForSettled++;
    try {
      await giveBackRefused();
      await oneEnded;
    } finally {
      this.waitingForSettled--;
    }
    return 'again';
  }

  private async verifiedBefore(client: string, name: string): Promise<boolean> {
    return (await this.verified.get(verifiedKey(client, name))) !== null;
  }

  private block(client: string, ms: number): void {
    // Remembered here too, for the cheap check at the door of the API; the oldest go first.
    this.blockedUntil.delete(client);
    this.blockedUntil.set(client, Date.now() + Math.max(ms, 1000));
    while (this.blockedUntil.size > 100_000) this.blockedUntil.delete(this.blockedUntil.keys().next().value as string);
  }

  blockedFor(client: string): number {
    const until = this.blockedUntil.get(client);
    if (until === undefined) return 0;
    const ms = until - Date.now();
    if (ms > 0) return Math.ceil(ms / 1000);
    this.blockedUntil.delete(client);
    return 0;
  }

  async withHashSlot<T>(hash: () => Promise<T>): Promise<T | undefined> {
    if (this.running >= this.concurrentHashes) {
      if (this.waiting.length >= this.maxWaiting) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await hash();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next in line
      else this.running--;
    }
  }
}

async function book(limiter: Limiter, points: number, key: string): Promise<number | undefined> {
  if (points <= 0) return undefined;
  try {
    await limiter.consume(key);
    return undefined;
  } catch (rejected) {
    const ms = (rejected as { msBeforeNext?: number }).msBeforeNext;
    if (ms === undefined) throw rejected; // the store failed, not the client
    return ms;
  }
}

/** Gives a point back, never into credit (the window may have rolled over); returns the points still spent. */
async function giveBack(limiter: Limiter, key: string): Promise<number> {
  const { consumedPoints } = await limiter.reward(key, 1);
  if (consumedPoints < 0) await limiter.reward(key, consumedPoints);
  return Math.max(0, consumedPoints);
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** The marker's key: a digest, so the store holds no names or addresses in clear. */
function verifiedKey(client: string, name: string): string {
  const hash = createHash('sha256');
  for (const field of [client, nameKey(name)]) hash.update(`${Buffer.byteLength(field)}:`).update(field);
  return hash.digest('base64url');
}

// Names no user can have share one key: an attacker's long garbage names cannot fill the store.
const nameKey = (name: string) => (isPossibleUsername(name) ? `name:${name}` : 'impossible');
