import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RedisConnection } from './redis';

export interface LimiterOptions {
  keyPrefix: string;
  points: number;
  /** Seconds. */
  duration: number;
  blockDuration?: number;
}

/** What the limits need of a counter store (rate-limiter-flexible's API, rejections included). */
export interface Limiter {
  /** Resolves while within the budget; rejects with a RateLimiterRes when it is spent. */
  consume(key: string): Promise<RateLimiterRes>;
  /** Gives points back; resolves with the points still spent (below zero when the window was gone). */
  reward(key: string, points: number): Promise<RateLimiterRes>;
  /** Sets the key's spent points, for `seconds`. */
  set(key: string, points: number, seconds: number): Promise<unknown>;
  /** The key's state without spending anything; null when it has spent nothing. */
  get(key: string): Promise<RateLimiterRes | null>;
}

/** Where counters live: one factory for every limiter, so all of them share one store. */
export type LimiterFactory = (options: LimiterOptions) => Limiter;

export const memoryLimiters: LimiterFactory = (options) => new RateLimiterMemory(options);

/** Counters in Redis, shared by every replica; in this process's memory while Redis is unhealthy, so limits still hold. */
export function redisLimiters(redis: RedisConnection, namespace = 'starter'): LimiterFactory {
  return (options) =>
    new FailOverLimiter(
      new RateLimiterRedis({ ...options, keyPrefix: `${namespace}:${options.keyPrefix}`, storeClient: redis.client }),
      new RateLimiterMemory(options),
      redis,
    );
}

class FailOverLimiter implements Limiter {
  constructor(
    private readonly shared: RateLimiterAbstract,
    private readonly local: RateLimiterAbstract,
    private readonly redis: RedisConnection,
  ) {}

  consume(key: string) {
    return this.use((limiter) => limiter.consume(key));
  }

  reward(key: string, points: number) {
    return this.use((limiter) => limiter.reward(key, points));
  }

  set(key: string, points: number, seconds: number) {
    return this.use((limiter) => limiter.set(key, points, seconds));
  }

  get(key: string) {
    return this.use((limiter) => limiter.get(key));
  }

  private async use<T>(operation: (limiter: RateLimiterAbstract) => Promise<T>): Promise<T> {
    if (!this.redis.isUp()) return operation(this.local);
    try {
      return await operation(this.shared);
    } catch (error) {
      if (error instanceof RateLimiterRes) throw error; // over the limit: an answer, not a failure
      this.redis.failed(error as Error);
      return operation(this.local);
    }
  }
}
