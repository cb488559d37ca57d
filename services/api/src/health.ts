import { Router } from 'express';
import { isReady, type Database } from './db';
import { methodNotAllowed } from './errors';

/** Liveness (the process answers) and readiness (the database answers), without auth, for probes. */
export function healthRoutes(db: Database): Router {
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
        .json({ status: database ? 'ready' : 'unavailable', database: database ? 'up' : 'down' });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
