import { memoryLimiters, type Limiter, type LimiterFactory } from './limiters';

/**
 * Password guessing must not take the CPU: one client address may make `failuresPerMinute`
 * attempts a minute that fail (each is booked before its hash runs, and given back when right);
 * beyond that it is answered 429 for a minute before any hash runs. At most `concurrentHashes`
 * slow hashes run at once (the rest wait their turn, up to `maxWaiting`). With a shared store
 * (Redis), the failures of one address are counted across every replica.
 */
export class LoginThrottle {
  private readonly failures: Limiter;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Blocked clients and until when (ms): known without a round trip to the store. */
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    private readonly failuresPerMinute: number,
    private readonly concurrentHashes: number,
    private readonly maxWaiting = 256,
    limiters: LimiterFactory = memoryLimiters,
  ) {
    this.failures = limiters({ keyPrefix: 'login-failures', points: failuresPerMinute, duration: 60, blockDuration: 60 });
  }

  /**
   * Books one attempt for this client before its hash runs, so a burst of guesses sent at once is
   * counted as it comes, not after. Returns the seconds to wait when over the limit, else 0.
   */
  async begin(client: string): Promise<number> {
    if (this.failuresPerMinute <= 0) return 0;
    try {
      await this.failures.consume(client);
      return 0;
    } catch (rejected) {
      const ms = (rejected as { msBeforeNext?: number }).msBeforeNext;
      if (ms === undefined) throw rejected; // the store failed, not the client
      this.block(client, ms);
      return Math.max(1, Math.ceil(ms / 1000));
    }
  }

  /** The attempt was right: it does not count against the client. */
  async succeeded(client: string): Promise<void> {
    if (this.failuresPerMinute <= 0) return;
    await this.failures.reward(client, 1);
  }

  /** The attempt could not be checked (a server-side failure): it does not count; never throws. */
  async givenBack(client: string): Promise<void> {
    await this.succeeded(client).catch(() => undefined);
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
