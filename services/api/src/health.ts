import { Router } from 'express';
import type { Database } from './db/database';
import { methodNotAllowed } from './errors';
import type { RedisConnection } from './limits/redis';

/** Redis is reported but never makes the API unready: without it limits are counted per process. */
export function healthRoutes(db: Database, redis?: RedisConnection, maxAgeMs = 1000): Router {
  const router = Router();
  const databaseUp = sharedCheck((timeoutMs) => databaseAnswers(db, timeoutMs), maxAgeMs);
  router
    .route('/health')
    .get((_req, res) => {
      res.set('Cache-Control', 'no-store').json({ status: 'ok' });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  router
    .route('/ready')
    .get(async (_req, res) => {
      const database = await databaseUp();
      res
        .status(database ? 200 : 503)
        .set('Cache-Control', 'no-store')
        .json({
          status: database ? 'ready' : 'unavailable',
          database: database ? 'up' : 'down',
          ...(redis && { redis: redis.isUp() ? 'up' : 'down' }),
        });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}

/** Whether the database answers `select 1` within `timeoutMs`; a late query's connection is dropped, not reused. */
export async function databaseAnswers(db: Database, timeoutMs: number): Promise<boolean> {
  try {
    await db.raw('select 1').timeout(timeoutMs);
    return true;
  } catch {
    return false;
  }
}

/** One shared check at a time, at most `maxAgeMs` old: a hung database holds one connection, not one per probe. */
export function sharedCheck(check: (timeoutMs: number) => Promise<boolean>, maxAgeMs: number): () => Promise<boolean> {
  const timeoutMs = maxAgeMs / 2;
  let last: { up: boolean; at: number } | undefined;
  let answer: Promise<boolean> | undefined;
  let running = false;
  const settle = (up: boolean) => {
    last = { up, at: performance.now() };
    answer = undefined;
    return up;
  };
  return () => {
    if (last && performance.now() - last.at < maxAgeMs) return Promise.resolve(last.up);
    if (answer) return answer;
    if (running) return Promise.resolve(settle(false));
    running = true;
    const checked = check(timeoutMs).catch(() => false).finally(() => (running = false));
    const late = new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref());
    answer = Promise.race([checked, late]).then(settle);
    return answer;
  };
}
