import { memoryLimiters, type Limiter, type LimiterFactory } from './limiters';

/** Which budget refused an attempt, and for how many seconds. */
export interface LoginRefusal {
  by: 'address' | 'name';
  seconds: number;
}

/**
 * Password guessing must not take the CPU: one client address may make `failuresPerMinute`
 * attempts a minute that fail (each is booked before its hash runs, and given back when right);
 * beyond that it is answered 429 for a minute before any hash runs. Guesses spread over many
 * addresses are held by a budget per user name, `failuresPerNamePerMinute` (larger, so one
 * address meets its own limit first): beyond it, unverified attempts for that name get 429 for a
 * minute; credentials verified before are never throttled. At most `concurrentHashes` slow hashes
 * run at once (the rest wait their turn, up to `maxWaiting`). With a shared store (Redis), the
 * failures are counted across every replica.
 */
export class LoginThrottle {
  private readonly failures: Limiter;
  private readonly nameFailures: Limiter;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Blocked clients and until when (ms): known without a round trip to the store. */
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    private readonly failuresPerMinute: number,
    private readonly concurrentHashes: number,
    private readonly maxWaiting = 256,
    limiters: LimiterFactory = memoryLimiters,
    private readonly failuresPerNamePerMinute = failuresPerMinute * 3,
  ) {
    this.failures = limiters({ keyPrefix: 'login-failures', points: failuresPerMinute, duration: 60, blockDuration: 60 });
    this.nameFailures = limiters({ keyPrefix: 'login-failures-name', points: failuresPerNamePerMinute, duration: 60, blockDuration: 60 });
  }

  /**
   * Books one attempt for this client and this user name before its hash runs, so a burst of
   * guesses sent at once is counted as it comes, not after. Returns which budget is spent, if one is.
   */
  async begin(client: string, name: string): Promise<LoginRefusal | undefined> {
    const address = await book(this.failures, this.failuresPerMinute, client);
    if (address !== undefined) {
      this.block(client, address);
      return { by: 'address', seconds: Math.max(1, Math.ceil(address / 1000)) };
    }
    const forName = await book(this.nameFailures, this.failuresPerNamePerMinute, nameKey(name));
    return forName === undefined ? undefined : { by: 'name', seconds: Math.max(1, Math.ceil(forName / 1000)) };
  }

  /** The attempt was right: it does not count against the client or the name. */
  async succeeded(client: string, name: string): Promise<void> {
    if (this.failuresPerMinute > 0) await this.failures.reward(client, 1);
    if (this.failuresPerNamePerMinute > 0) await this.nameFailures.reward(nameKey(name), 1);
  }

  /** The attempt could not be checked (a server-side failure): it does not count; never throws. */
  async givenBack(client: string, name: string): Promise<void> {
    await this.succeeded(client, name).catch(() => undefined);
  }

  private block(client: string, ms: number): void {
    // Remembered here too, for the cheap check at the door of the API; the oldest go first.
    this.blockedUntil.delete(client);
    this.blockedUntil.set(client, Date.now() + Math.max(ms, 1000));
    while (this.blockedUntil.size > 100_000) this.blockedUntil.delete(this.blockedUntil.keys().next().value as string);
  }

  /** Seconds this client is still blocked for, as far as this process has seen; synchronous. */
  blockedFor(client: string): number {
    const until = this.blockedUntil.get(client);
    if (until === undefined) return 0;
    const ms = until - Date.now();
    if (ms > 0) return Math.ceil(ms / 1000);
    this.blockedUntil.delete(client);
    return 0;
  }

  /** Runs `hash` when a slot is free; undefined when too many are already waiting. */
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

/** Spends a point of `key`: undefined while within the budget, else the milliseconds to wait. */
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

// Names no user can have share one key: an attacker's long garbage names cannot fill the store.
const nameKey = (name: string) => (name.length <= 100 && !name.includes('\0') ? `name:${name}` : 'impossible');
