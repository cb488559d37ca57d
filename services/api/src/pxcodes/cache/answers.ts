import type { IncomingMessage, ServerResponse } from 'node:http';
import fresh from 'fresh';
import typeIs from 'type-is';
import type { AuthenticatedUser } from '../../users/authenticatedUser';
import type { RequestLog } from '../../logger';
import { PageCache, type RenderedPage } from './pageCache';
import type { CollectionState } from '../repository';
import type { CollectionStateCache } from './stateCache';
import { acceptsPlainJson } from '../negotiation';

/** Answers are private to their user, who revalidates them with the ETag; Express's routes send the same. */
export const privateCacheControl = 'private, no-cache';

export interface CachedAnswersOptions {
  answers: PageCache;
  collectionState: CollectionStateCache;
  readState: () => Promise<CollectionState>;
  publicUrl: string | undefined;
  /** With a proxy trusted, links depend on X-Forwarded-* and the peer: only Express computes them. */
  trustProxy: unknown;
}

export type CachedAnswers = (req: IncomingMessage, res: ServerResponse, user: AuthenticatedUser | undefined, log: RequestLog, next: () => void) => void | Promise<void>;

/** Only a hit at the current version is answered before Express (docs/design.md); the rest go to it. */
export function cachedAnswers(options: CachedAnswersOptions): CachedAnswers {
  const { answers, collectionState, readState, publicUrl } = options;
  const proxied = options.trustProxy !== false && options.trustProxy !== undefined && !publicUrl;

  const keyOf = (req: IncomingMessage): string | undefined => {
    // A body, even an empty one, goes to the body parser, which may refuse it.
    if (req.method !== 'GET' || proxied || typeIs.hasBody(req)) return undefined;
    // Kept answers are JSON: any other Accept (CSV, a 406) is negotiated by Express.
    if (!acceptsPlainJson(req.headers.accept)) return undefined;
    // As Express makes req.protocol and req.host with no proxy trusted (this server has no TLS).
    const base = publicUrl ?? (req.headers.host === undefined ? undefined : `http://${req.headers.host}`);
    return base === undefined ? undefined : PageCache.key(base, req.url ?? '');
  };

  const send = (req: IncomingMessage, res: ServerResponse, page: RenderedPage) => {
    const headers = { 'Cache-Control': privateCacheControl, ETag: page.etag, Vary: 'Accept', ...(page.link ? { Link: page.link } : {}) };
    if (fresh(req.headers, { etag: page.etag })) return void res.writeHead(304, headers).end();
    res.writeHead(200, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': page.body.length });
    res.end(page.body);
  };

  return (req, res, user, log, next) => {
    const key = user && keyOf(req);
    if (key === undefined || !answers.has(key)) return next();
    return collectionState.read(readState).then(
      (state) => {
        const page = answers.get(state.version, key);
        if (!page) return next();
        log.cached = true;
        send(req, res, page);
      },
      // The database did not answer: Express says so in the API's words.
      next,
    );
  };
}
