import { Router } from 'express';
import { methodNotAllowed } from '../errors';
import { requireValidHost } from '../http/links';
import { requireJson } from '../http/requestBody';
import {
  createPxcode,
  deletePxcode,
  listPxcodes,
  readPxcode,
  requireCodeShape,
  updatePxcode,
  type PxcodeContext,
} from './handlers';
import { patchBody, replaceBody } from './schema';

/** The collection's routes, mounted at /api/v1.0/pxcodes behind authentication and the JSON parser. */
export function pxcodeRoutes(ctx: PxcodeContext): Router {
  const router = Router();
  router.use(requireValidHost(ctx.publicUrl));

  router
    .route('/')
    .get(listPxcodes(ctx))
    .post(requireJson, createPxcode(ctx))
    .all(methodNotAllowed(['GET', 'HEAD', 'POST']));

  router.param('pxcode', requireCodeShape);
  router
    .route('/:pxcode')
    .get(readPxcode(ctx))
    .put(requireJson, updatePxcode(ctx, replaceBody))
    .patch(requireJson, updatePxcode(ctx, patchBody))
    .delete(deletePxcode(ctx))
    .all(methodNotAllowed(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE']));

  return router;
}
