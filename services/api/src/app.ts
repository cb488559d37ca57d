import express, { type Express, type RequestHandler } from 'express';
import { basicAuth, createVerifier, rejectBlockedClients, type CredentialCache } from './auth';
import type { Database } from './db';
import type { LoginThrottle } from './loginThrottle';
import { errorHandler, notFound } from './errors';
import { healthRoutes } from './health';
import { createHttpLogger, type Logger } from './logger';
import { pxcodeRoutes } from './pxcodes/routes';

export interface AppDeps {
  db: Database;
  logger: Logger;
  credentialCache: CredentialCache;
  loginThrottle: LoginThrottle;
  publicUrl?: string | undefined;
  trustProxy?: boolean | number | string[];
  bodyLimit?: string;
}

export const apiPrefix = '/api/v1.0';

/** The whole request path on one screen. No listening, no environment, no connections of its own. */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'strong');
  app.set('trust proxy', deps.trustProxy ?? false);
  const auth: RequestHandler = basicAuth(createVerifier(deps.db, deps.credentialCache, deps.loginThrottle));

  app.use(createHttpLogger(deps.logger));
  app.use(apiPrefix, rejectBlockedClients(deps.credentialCache, deps.loginThrottle));
  // strict: false, so that `null` or `"x"` reach zod and are answered "must be a JSON object".
  app.use(express.json({ limit: deps.bodyLimit ?? '100kb', strict: false, type: ['application/json', 'application/*+json'] }));
  app.use(healthRoutes(deps.db));
  app.use(`${apiPrefix}/pxcodes`, auth, pxcodeRoutes({ db: deps.db, publicUrl: deps.publicUrl }));
  app.use(apiPrefix, auth);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
