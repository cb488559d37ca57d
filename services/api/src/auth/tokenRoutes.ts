import { Router, type RequestHandler } from 'express';
import type { AuthenticatedUser } from '../users/authenticatedUser';
import { HttpError, methodNotAllowed } from '../errors';
import type { Tokens } from './tokens';

/** GET /auth/request-token: basic auth in, a new token out. Never cached on the way, as the seed answers it. */
export function tokenRoutes(tokens: Tokens | undefined, authenticate: RequestHandler[]): Router {
  const router = Router();
  router
    .route('/auth/request-token')
    .get(
      (_req, _res, next) => next(tokens ? undefined : new HttpError(404, 'token authentication is off (AUTH_MODES does not include token)')),
      ...authenticate,
      async (req, res) => {
        const user = req.user as AuthenticatedUser;
        const token = await tokens!.issue(user);
        res
          .set({ 'Cache-Control': 'no-cache, no-store, max-age=0', Pragma: 'no-cache' })
          .json({ token, expires_in: tokens!.ttlSeconds });
      },
    )
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
