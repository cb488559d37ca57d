import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type RequestHandler } from 'express';
import proxyAddr from 'proxy-addr';
import { authenticate, Authenticator, parseAuthorization, verifiedUser, type Accepts, type CredentialCache } from './auth/authenticator';
import { Door } from './front/door';
import type { Database } from './db/database';
import type { LoginThrottle } from './auth/loginThrottle';
import { errorHandler, notFound, respondWithError, sendError, type Refusal } from './errors';
import { healthRoutes } from './health';
import { knownEncoding, verifyUtf8 } from './http/requestBody';
import { logRequest, type Logger } from './logger';
import { pxcodeRoutes } from './pxcodes/routes';
import { RequestRateLimiter } from './limits/rateLimit';
import type { RateLimitSetting } from './config';
import type { LimiterFactory } from './limits/limiters';
import type { RedisConnection } from './limits/redis';
import { tokenRoutes } from './auth/tokenRoutes';
import type { Tokens } from './auth/tokens';
import { CollectionStateCache } from './pxcodes/cache/stateCache';
import { cachedAnswers, privateCacheControl } from './pxcodes/cache/answers';
import { PageCache } from './pxcodes/cache/pageCache';
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
  /** The collection's count and version in memory, kept true by the change listener. */
  collectionState?: CollectionStateCache | undefined;
  publicUrl?: string | undefined;
  trustProxy?: boolean | number | string[];
  bodyLimit?: string;
}

export const apiPrefix = '/api/v1.0';

const privateAnswer: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', privateCacheControl);
  next();
};

/**
 * Liveness and readiness probes: never counted, never refused at the door. Only the origin-form
 * paths Express routes to them (any case, a trailing slash, a query): an absolute-form request
 * line (GET http://x/a/../health) is not a probe, whatever its path normalises to.
 */
function isProbe(url = ''): boolean {
  const path = url.split('?', 1)[0]!.toLowerCase();
  return path === '/health' || path === '/health/' || path === '/ready' || path === '/ready/';
}

/**
 * The whole request path on one screen: the log line, the door (rate limit, blocked clients),
 * cached answers, then Express. No listening, no environment, no connections of its own.
 */
export function buildApp(deps: AppDeps): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'strong');
  app.set('trust proxy', deps.trustProxy ?? false);
  const authenticator = new Authenticator(deps.db, deps.credentialCache, deps.loginThrottle, deps.tokens);
  const tokens = deps.tokens !== undefined;
  const rateLimiter = deps.rateLimit && new RequestRateLimiter(deps.rateLimit.setting, deps.rateLimit.limiters, deps.logger);
  const door = new Door(deps.loginThrottle, rateLimiter);
  // A request charged to its address at the door is charged to its user once known.
  const authenticated = (accepts: Accepts): RequestHandler[] => [
    authenticate(authenticator, accepts),
    privateAnswer,
    ...(rateLimiter ? [rateLimiter.afterAuthentication()] : []),
  ];
  const apiAccepts: Accepts = { passwords: deps.passwords ?? true, tokens };
  const apiAuth = authenticated(apiAccepts);
  const collectionState = deps.collectionState ?? new CollectionStateCache();
  const readState = () => pxcodeService.collectionState(deps.db);
  const answers = new PageCache();

  app.use(healthRoutes(deps.db, deps.redis));
  // Passwords only: a token cannot renew itself, so TOKEN_TTL bounds what a leaked token is worth.
  app.use(tokenRoutes(deps.tokens, authenticated({ passwords: true, tokens: false, tokensRefused: 'a token cannot be renewed with a token: ask with the user name and password' })));
  // strict: false, so that `null` or `"x"` reach zod and are answered "must be a JSON object".
  // After authentication: a stranger's body is never read, and is answered 401 whatever it holds.
  const jsonBody = [knownEncoding, express.json({ limit: deps.bodyLimit ?? '100kb', strict: false, type: ['application/json', 'application/*+json'], verify: verifyUtf8 })];
  app.use(`${apiPrefix}/pxcodes`, apiAuth, jsonBody, pxcodeRoutes({ db: deps.db, publicUrl: deps.publicUrl, collectionState, answers, readState }));
  app.use(apiPrefix, apiAuth);
  app.use(notFound);
  app.use(errorHandler(deps.logger));

  const cached = cachedAnswers({
    answers,
    collectionState,
    readState,
    publicUrl: deps.publicUrl,
    trustProxy: deps.trustProxy,
  });
  // The client's address as Express's req.ip has it (honouring 'trust proxy').
  const trust = app.get('trust proxy fn') as Parameters<typeof proxyAddr>[1];
  const clientAddress = deps.trustProxy ? (req: IncomingMessage) => proxyAddr(req, trust) : (req: IncomingMessage) => req.socket.remoteAddress;
  const toExpress = (req: IncomingMessage, res: ServerResponse) => void app(req, res);
  // The log line, the door and the cache come before Express: its per-request set-up costs more
  // than all of them (see cachedAnswers.ts), and a refused or cached request never needs it.
  return (req, res) => {
    // Every answer, whoever writes it (Express, the door, the cache): no content sniffing.
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const log = logRequest(deps.logger, req, res);
    if (isProbe(req.url)) return toExpress(req, res);
    // Outside Express nothing catches for us: whatever fails is answered in the API's words.
    const fail = (error: unknown) => respondWithError(deps.logger, error, req, res);
    try {
      // Read once for the door and the cache; Express's passport reads them again when it is reached.
      const authorization = parseAuthorization(req.headers.authorization);
      const remembered = authenticator.remembered(authorization);
      const user = verifiedUser(remembered, apiAccepts);
      const next = (refusal: Refusal | undefined) =>
        refusal ? sendError(res, refusal) : cached(req, res, user, log, () => toExpress(req, res))?.catch(fail);
      const refusal = door.admit(req, res, clientAddress(req) ?? 'unknown', remembered?.user);
      if (refusal instanceof Promise) refusal.then(next).catch(fail);
      else next(refusal);
    } catch (error) {
      fail(error);
    }
  };
}
