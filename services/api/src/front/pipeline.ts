import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { verifiedUser, type Accepts, type Authenticator, type Remembered } from '../auth/authenticator';
import { parseAuthorization } from '../auth/authorization';
import { respondWithError, sendError } from '../errors';
import { logRequest, type Logger, type RequestLog } from '../logger';
import type { RequestObserver } from '../metrics/requests';
import type { CachedAnswers } from '../pxcodes/cache/answers';
import type { Door } from './door';

export interface FrontSteps {
  logger: Logger;
  authenticator: Authenticator;
  accepts: Accepts;
  door: Door;
  /** As Express's req.ip has it (honouring 'trust proxy'). */
  clientAddress: (req: IncomingMessage) => string | undefined;
  cachedAnswers: CachedAnswers;
  express: (req: IncomingMessage, res: ServerResponse) => void;
  /** Metrics: sees every request, probes and refusals included. */
  observe?: RequestObserver | undefined;
}

/** Probes skip the door; only in origin form (GET http://x/a/../health is no probe). */
function isProbe(url = ''): boolean {
  const path = url.split('?', 1)[0]!.toLowerCase();
  return path === '/health' || path === '/health/' || path === '/ready' || path === '/ready/';
}

/**
 * The request path, in run order: nosniff, the log line, probes straight to Express, the
 * credentials this process remembers, the door, a cached answer, then Express. Everything before
 * Express is cheap next to Express's per-request set-up, which a refused or cached request skips.
 */
export function frontPipeline(steps: FrontSteps): RequestListener {
  const { logger, express, observe } = steps;
  return (req, res) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const log = logRequest(logger, req, res);
    observe?.(req, res, log);
    if (isProbe(req.url)) return express(req, res);
    // Outside Express nothing catches for us: whatever fails is answered in the API's words.
    beyondTheProbes(steps, req, res, log).catch((error: unknown) => respondWithError(logger, error, req, res));
  };
}

async function beyondTheProbes(steps: FrontSteps, req: IncomingMessage, res: ServerResponse, log: RequestLog): Promise<void> {
  const remembered = rememberedCredentials(steps.authenticator, req);
  const refusal = await steps.door.admit(req, res, steps.clientAddress(req) ?? 'unknown', remembered?.user);
  if (refusal) return sendError(res, refusal);
  const user = verifiedUser(remembered, steps.accepts);
  await steps.cachedAnswers(req, res, user, log, () => steps.express(req, res));
}

// Passport reads the header again if Express is reached.
function rememberedCredentials(authenticator: Authenticator, req: IncomingMessage): Remembered | undefined {
  return authenticator.remembered(parseAuthorization(req.headers.authorization));
}
