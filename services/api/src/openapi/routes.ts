import { Router } from 'express';
import path from 'node:path';
import { methodNotAllowed } from '../errors';
import { docsContentSecurityPolicy, docsHtml, docsInitializer } from './docsPage';
import { openApiDocument } from './document';
import { docsPath, openApiPath } from './publicPaths';

// swagger-ui-dist ships no types; its folder is all that is needed.
const swaggerUiFolder = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const swaggerUiFiles = ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png'];

/**
 * GET /api/v1.0/openapi.json and the Swagger UI page at /docs: public, mounted before
 * authentication (the door's rate limit still counts them, as any stranger's request).
 */
export function openApiRoutes(): Router {
  const router = Router();
  router
    .route(openApiPath)
    .get((_req, res) => {
      // Express adds a strong ETag and answers a matching If-None-Match with 304.
      res.set({ 'Cache-Control': 'no-cache', 'Content-Type': 'application/json; charset=utf-8' }).send(openApiDocument().json);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  router.get(`${docsPath}/starter-initializer.js`, (_req, res) => {
    res.set({ 'Cache-Control': 'no-cache', 'Content-Type': 'text/javascript; charset=utf-8' }).send(docsInitializer);
  });
  router
    .route([docsPath, `${docsPath}/`])
    .get((_req, res) => {
      res.set({ 'Cache-Control': 'no-cache', 'Content-Security-Policy': docsContentSecurityPolicy }).type('html').send(docsHtml);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  // Only the files the page loads: the package's own index.html would load a demo document from elsewhere.
  for (const file of swaggerUiFiles) {
    router.get(`${docsPath}/${file}`, (_req, res) => res.set('Cache-Control', 'no-cache').sendFile(path.join(swaggerUiFolder, file)));
  }
  return router;
}
