import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RedisConnection } from './redis';

export interface LimiterOptions {
  keyPrefix: string;
  points: number;
  /** Seconds. */
  duration: number;
  blockDuration?: number;
}

/** Where counters live: one factory for every limiter, so all of them share one store. */
export type LimiterFactory = (options: LimiterOptions) => RateLimiterAbstract;

export const memoryLimiters: LimiterFactory = (options) => new RateLimiterMemory(options);

/**
 * Counters in Redis, shared by every replica. When Redis is down or slow, each limiter falls back
 * to counting in this process's memory (the insurance limiter): limits still hold, per replica,
 * and no request fails or waits because of Redis.
 */
export function redisLimiters(redis: RedisConnection, namespace = 'starter'): LimiterFactory {
  return (options) =>
    new RateLimiterRedis({
      ...options,
      keyPrefix: `${namespace}:${options.keyPrefix}`,
      storeClient: redis.client,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });
}
