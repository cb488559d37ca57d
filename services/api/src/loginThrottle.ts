import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * Password guessing must not take the CPU: after `failuresPerMinute` wrong credentials from one
 * client address, that address is answered 429 for a minute before any hash runs, and at most
 * `concurrentHashes` slow hashes run at once (the rest wait their turn, up to `maxWaiting`).
 */
export class LoginThrottle {
  private readonly failures: RateLimiterAbstract;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Blocked clients and until when (ms): known without a round trip to the store. */
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    private readonly failuresPerMinute: number,
    private readonly concurrentHashes: number,
    private readonly maxWaiting = 256,
    store?: RateLimiterAbstract,
  ) {
    this.failures = store ?? new RateLimiterMemory({ keyPrefix: 'login-failures', points: failuresPerMinute, duration: 60, blockDuration: 60 });
  }

  /** Seconds until this client may try again, or 0 when it may now. */
  async retryAfter(client: string): Promise<number> {
    if (this.failuresPerMinute <= 0) return 0;
    const state = await this.failures.get(client);
    if (!state || state.consumedPoints < this.failuresPerMinute) return 0;
    return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
  }

  async recordFailure(client: string): Promise<void> {
    if (this.failuresPerMinute <= 0) return;
    // A rejection means over the limit: blocked, as meant.
    const state: { consumedPoints: number; msBeforeNext: number } = await this.failures
      .consume(client)
      .catch((rejected: { consumedPoints: number; msBeforeNext: number }) => rejected);
    if (state.consumedPoints >= this.failuresPerMinute) {
      // Remembered here too, for the cheap check at the door (the same moment retryAfter() blocks).
      if (this.blockedUntil.size > 100_000) this.blockedUntil.clear();
      this.blockedUntil.set(client, Date.now() + Math.max(state.msBeforeNext, 1000));
    }
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
