import type { IncomingMessage, ServerResponse } from 'node:http';
import fresh from 'fresh';
import typeIs from 'type-is';
import type { AuthenticatedUser } from '../../users/authenticatedUser';
import type { RequestLog } from '../../logger';
import { PageCache, type RenderedPage } from './pageCache';
import type { CollectionState } from '../repository';
import type { CollectionStateCache } from './stateCache';

/**
 * Authenticated answers: what a user was answered is theirs, shared caches must not keep it; the
 * client may, and revalidates it with its ETag each time (304). Express's routes send the same.
 */
export const privateCacheControl = 'private, no-cache';

export interface CachedAnswersOptions {
  answers: PageCache;
  collectionState: CollectionStateCache;
  readState: () => Promise<CollectionState>;
  publicUrl: string | undefined;
  /** With a proxy trusted, links depend on X-Forwarded-* and the peer: only Express computes them. */
  trustProxy: unknown;
}

/**
 * Answers the request from the cache, or hands it to `next`. `user` is who the credentials were
 * verified for moments ago, if they were (and the API accepts them). A promise when it waited.
 */
export type CachedAnswers = (req: IncomingMessage, res: ServerResponse, user: AuthenticatedUser | undefined, log: RequestLog, next: () => void) => void | Promise<void>;

/**
 * A cache in front of Express for repeated GETs. Express costs more CPU per request than all the
 * rest of a cached GET (measured here: a bare node:http server 29 µs per request, Express with one
 * middleware and no route 174 µs; it swaps the prototypes of every req and res, which sends
 * node's http code down slow paths). So a GET that brings credentials verified moments ago (a
 * fresh credential cache entry, of a kind the API accepts: see verifiedUser), for a URL whose answer the routes
 * rendered for the collection's current version, is answered here with those bytes, ETag and
 * Link, or 304 for a matching If-None-Match (the `fresh` module, as Express). It comes after the
 * door (rate limit, blocked clients) like every request. Everything else, every miss and every
 * error goes to Express, where all the rules live; nothing is answered here that Express has not
 * answered the same way.
 */
export function cachedAnswers(options: CachedAnswersOptions): CachedAnswers {
  const { answers, collectionState, readState, publicUrl } = options;
  const proxied = options.trustProxy !== false && options.trustProxy !== undefined && !publicUrl;

  const keyOf = (req: IncomingMessage): string | undefined => {
    // A GET with a body (any Content-Length, even 0) goes to the body parser, which may refuse it:
    // decided by the same function the parser uses.
    if (req.method !== 'GET' || proxied || typeIs.hasBody(req)) return undefined;
    // As Express's req.protocol and req.host make it, with no proxy trusted (this server has no TLS).
    const base = publicUrl ?? (req.headers.host === undefined ? undefined : `http://${req.headers.host}`);
    return base === undefined ? undefined : PageCache.key(base, req.url ?? '');
  };

  const send = (req: IncomingMessage, res: ServerResponse, page: RenderedPage) => {
    // Only authenticated requests are answered here: the same Cache-Control as Express sends them.
    const headers = { 'Cache-Control': privateCacheControl, ETag: page.etag, ...(page.link ? { Link: page.link } : {}) };
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
