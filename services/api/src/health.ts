import { Router } from 'express';
import { isReady, type Database } from './db/database';
import { methodNotAllowed } from './errors';
import type { RedisConnection } from './limits/redis';

/**
 * Liveness (the process answers) and readiness (the database answers), without auth, for probes.
 * Redis is reported but does not make the API unready: without it, rate limits are counted per
 * process and every request is still answered.
 */
export function healthRoutes(db: Database, redis?: RedisConnection, maxAgeMs = 1000): Router {
  const router = Router();
  const databaseUp = sharedCheck(() => isReady(db), maxAgeMs);
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

/**
 * Probes are not limited, so a flood of them must not become a flood of queries: every caller
 * gets a result at most `maxAgeMs` old, from one check shared by all who ask meanwhile. A check
 * that has not answered within `maxAgeMs` (a database that hangs) counts as down.
 */
function sharedCheck(check: () => Promise<boolean>, maxAgeMs: number): () => Promise<boolean> {
  let last: { up: boolean; at: number } | undefined;
  let inFlight: Promise<boolean> | undefined;
  return () => {
    if (last && Date.now() - last.at < maxAgeMs) return Promise.resolve(last.up);
    inFlight ??= Promise.race([
      check(),
      new Promise<boolean>((resolve) => setTimeout(resolve, maxAgeMs, false).unref()),
    ]).then((up) => {
      last = { up, at: Date.now() };
      inFlight = undefined;
      return up;
    });
    return inFlight;
  };
}
