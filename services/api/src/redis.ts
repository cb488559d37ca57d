import { Redis } from 'ioredis';
import type { Logger } from './logger';

export interface RedisConnection {
  client: Redis;
  /** Connected and answering, as far as the client knows. */
  isUp(): boolean;
  close(): Promise<void>;
}

/**
 * A client that never makes a request wait on Redis: while it is unreachable, commands fail at
 * once (no offline queue) and a slow answer times out after `timeoutMs`; the rate limiters then
 * count in this process's memory instead. It reconnects on its own; changes of state are logged.
 */
export function connectRedis(url: string, timeoutMs: number, logger: Logger): RedisConnection {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(1000, timeoutMs * 4),
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
    // How long disconnect() keeps a dead socket's timer before destroying it (default 2 s).
    disconnectTimeout: 200,
  });
  // Logged once per change, not once per reconnection attempt.
  let up: boolean | undefined;
  const down = (error?: Error) => {
    if (up !== false) logger.warn({ err: error }, 'Redis is unavailable: rate limits are counted per process until it is back');
    up = false;
  };
  client.on('ready', () => {
    if (up === false) logger.info('Redis is back: rate limits are shared again');
    up = true;
  });
  client.on('error', down);
  client.on('close', () => up && down());
  return {
    client,
    isUp: () => client.status === 'ready',
    async close() {
      client.disconnect();
    },
  };
}
