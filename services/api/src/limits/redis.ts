import { Redis } from 'ioredis';
import type { Logger } from '../logger';

export interface RedisConnection {
  client: Redis;
  /** Connected, answering, and no command has failed since it last became ready. */
  isUp(): boolean;
  /** A command failed or timed out: count elsewhere until the connection is healthy again. */
  failed(error: Error): void;
  close(): Promise<void>;
}

/**
 * A client that never makes requests wait on Redis for long: no offline queue, and a command that
 * times out drops the connection (it reconnects on its own). Changes of state are logged once each.
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
  let up: boolean | undefined;
  let healthy = false;
  const down = (error?: Error) => {
    healthy = false;
    if (up !== false) logger.warn({ err: error }, 'Redis is unavailable: rate limits are counted per process until it is back');
    up = false;
  };
  client.on('ready', () => {
    if (up === false) logger.info('Redis is back: rate limits are shared again');
    up = true;
    healthy = true;
  });
  client.on('error', down);
  client.on('close', () => up && down());
  return {
    client,
    isUp: () => healthy && client.status === 'ready',
    failed(error) {
      if (!healthy) return;
      down(error);
      // A stalled server keeps the socket open: drop it, so what is queued fails now.
      client.disconnect(true);
    },
    async close() {
      client.disconnect();
    },
  };
}
