import { Router } from 'express';
import { isReady, type Database } from './db';
import { methodNotAllowed } from './errors';
import type { RedisConnection } from './redis';

/**
 * Liveness (the process answers) and readiness (the database answers), without auth, for probes.
 * Redis is reported but does not make the API unready: without it, rate limits are counted per
 * process and every request is still answered.
 */
export function healthRoutes(db: Database, redis?: RedisConnection): Router {
  const router = Router();
  router
    .route('/health')
    .get((_req, res) => {
      res.set('Cache-Control', 'no-store').json({ status: 'ok' });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  router
    .route('/ready')
    .get(async (_req, res) => {
      const database = await isReady(db);
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
