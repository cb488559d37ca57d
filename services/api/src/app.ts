import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import proxyAddr from 'proxy-addr';
import { Authenticator, type Accepts } from './auth/authenticator';
import type { CredentialCache } from './auth/credentialCache';
import type { LoginThrottle } from './auth/loginThrottle';
import { passportAuthentication } from './auth/passport';
import { tokenRoutes } from './auth/tokenRoutes';
import type { Tokens } from './auth/tokens';
import type { RateLimitSetting } from './config';
import type { Database } from './db/database';
import { errorHandler, notFound } from './errors';
import { Door } from './front/door';
import { openApiRoutes } from './openapi/routes';
import { frontPipeline } from './front/pipeline';
import { healthRoutes } from './health';
import { knownEncoding, verifyUtf8 } from './http/requestBody';
import type { LimiterFactory } from './limits/limiters';
import { RequestRateLimiter } from './limits/rateLimit';
import type { RedisConnection } from './limits/redis';
import type { Logger } from './logger';
import { observeRequests } from './metrics/requests';
import type { Metrics } from './metrics/registry';
import { cachedAnswers, privateCacheControl } from './pxcodes/cache/answers';
import { PageCache } from './pxcodes/cache/pageCache';
import { CollectionStateCache } from './pxcodes/cache/stateCache';
import { pxcodeRoutes } from './pxcodes/routes';
import * as pxcodeService from './pxcodes/service';

export interface AppDeps {
  db: Database;
  logger: Logger;
  credentialCache: CredentialCache;
  loginThrottle: LoginThrottle;
  /** Token authentication is on when given. */
  tokens?: Tokens | undefined;
  /** Passwords on the API itself (AUTH_MODES includes basic); /auth/request-token always takes them. */
  passwords?: boolean;
  /** RATE_LIMIT, counted in the store the limiters use. */
  rateLimit?: { setting: RateLimitSetting; limiters: LimiterFactory } | undefined;
  redis?: RedisConnection | undefined;
  publicUrl?: string | undefined;
  trustProxy?: boolean | number | string[];
  bodyLimit?: string;
  /** Every answer is observed into these when given (METRICS_PORT). */
  metrics?: Metrics | undefined;
}

export const apiPrefix = '/api/v1.0';

interface Shared {
  authenticator: Authenticator;
  apiAccepts: Accepts;
  rateLimiter: RequestRateLimiter | undefined;
  collectionState: CollectionStateCache;
  answers: PageCache;
  readState: () => ReturnType<typeof pxcodeService.collectionState>;
}

// Passwords only: a token cannot renew itself, so TOKEN_TTL bounds what a leaked token is worth.
const tokenRequestAccepts: Accepts = { passwords: true, tokens: false, tokensRefused: 'a token cannot be renewed with a token: ask with the user name and password' };

const privateAnswer: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', privateCacheControl);
  next();
};

/** The routes: probes, token requests, the API behind authentication, errors in the API's shape. */
export function expressApp(deps: AppDeps, shared: Shared): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'strong');
  app.set('trust proxy', deps.trustProxy ?? false);
  const passport = passportAuthentication(shared.authenticator);
  const { rateLimiter } = shared;
  // A request charged to its address at the door is charged to its user once known.
  const authenticated = (name: string, accepts: Accepts): RequestHandler[] => [
    passport(name, accepts),
    privateAnswer,
    ...(rateLimiter ? [rateLimiter.afterAuthentication()] : []),
  ];
  const apiAuth = authenticated('api', shared.apiAccepts);
  // strict: false, so that `null` or `"x"` reach zod and are answered "must be a JSON object".
  // After authentication: a stranger's body is never read, and is answered 401 whatever it holds.
  const jsonBody = [knownEncoding, express.json({ limit: deps.bodyLimit ?? '100kb', strict: false, type: ['application/json', 'application/*+json'], verify: verifyUtf8 })];
  const { collectionState, answers, readState } = shared;
  app.use(healthRoutes(deps.db, deps.redis));
  app.use(openApiRoutes());
  app.use(tokenRoutes(deps.tokens, authenticated('token-request', tokenRequestAccepts)));
  app.use(`${apiPrefix}/pxcodes`, apiAuth, jsonBody, pxcodeRoutes({ db: deps.db, publicUrl: deps.publicUrl, collectionState, answers, readState }));
  app.use(apiPrefix, apiAuth);
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}

/** The front pipeline, then Express; no listening, no environment, no connections of its own. */
export function buildApp(deps: AppDeps): RequestListener {
  const rateLimiter = deps.rateLimit && new RequestRateLimiter(deps.rateLimit.setting, deps.rateLimit.limiters, deps.logger);
  const shared: Shared = {
    authenticator: new Authenticator(deps.db, deps.credentialCache, deps.loginThrottle, deps.tokens),
    apiAccepts: { passwords: deps.passwords ?? true, tokens: deps.tokens !== undefined },
    rateLimiter,
    collectionState: new CollectionStateCache(),
    answers: new PageCache(),
    readState: () => pxcodeService.collectionState(deps.db),
  };
  const app = expressApp(deps, shared);
  const trust = app.get('trust proxy fn') as Parameters<typeof proxyAddr>[1];
  return frontPipeline({
    logger: deps.logger,
    authenticator: shared.authenticator,
    accepts: shared.apiAccepts,
    door: new Door(deps.loginThrottle, rateLimiter),
    clientAddress: deps.trustProxy ? (req: IncomingMessage) => proxyAddr(req, trust) : (req: IncomingMessage) => req.socket.remoteAddress,
    cachedAnswers: cachedAnswers({
      answers: shared.answers,
      collectionState: shared.collectionState,
      readState: shared.readState,
      publicUrl: deps.publicUrl,
      trustProxy: deps.trustProxy,
    }),
    express: (req: IncomingMessage, res: ServerResponse) => void app(req, res),
    observe: deps.metrics && observeRequests(deps.metrics),
  });
}
