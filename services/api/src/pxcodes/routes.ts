import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Database } from '../db/database';
import { HttpError, methodNotAllowed } from '../errors';
import { baseUrl, cursorMeta, linkHeader, pageMeta, type PageMeta } from '../http/links';
import { etagOf, etagOfBytes, ifMatchPasses } from '../http/etags';
import { PageCache, type RenderedPage } from './cache/pageCache';
import type { CollectionStateCache } from './cache/stateCache';
import type { CollectionState, PxcodeRow } from './repository';
import { createBody, listQuery, patchBody, pxcodeSchema, replaceBody, type ListQuery } from './schema';
import * as service from './service';

export interface PxcodeRoutesOptions {
  db: Database;
  publicUrl: string | undefined;
  /** How each request learns the collection's current version (kept in memory when opted in). */
  collectionState: CollectionStateCache;
  /** Rendered GET answers, shared with the cached-answers front (cachedAnswers.ts). */
  answers: PageCache;
  /** Reads the collection's state row (through collectionState, which shares the reads). */
  readState: () => Promise<CollectionState>;
}

const requireJson: RequestHandler = (req, _res, next) => {
  // req.is() is false for a body of another type, null for no body (zod then names the fields).
  const empty = req.headers['content-length'] === '0' && !req.headers['transfer-encoding'];
  if (!empty && req.is(['application/json', 'application/*+json']) === false) {
    throw new HttpError(415, `Content-Type must be application/json, not '${req.get('content-type') ?? 'none'}'`);
  }
  next();
};

export function pxcodeRoutes({ db, publicUrl, collectionState, answers, readState }: PxcodeRoutesOptions): Router {
  const router = Router();
  // The links are made of the Host: judged before anything is read or written, so that a request
  // refused for it has changed nothing.
  router.use((req, _res, next) => {
    baseUrl(req, publicUrl);
    next();
  });
  // Called when a write of this process has committed, before it is answered.
  const changed = <T>(result: T): T => {
    return result;
  };

  const collectionUrl = (req: Request) => `${baseUrl(req, publicUrl)}${req.baseUrl}/`;
  const answerKey = (req: Request) => PageCache.key(baseUrl(req, publicUrl), req.originalUrl);

  // Keys in the seed's order.
  const represent = (req: Request, row: PxcodeRow) => ({
    procedure: row.procedure,
    pxcode: row.pxcode,
    url: `${collectionUrl(req)}${encodeURIComponent(row.pxcode)}`,
  });

  const render = (req: Request, rows: PxcodeRow[], meta: PageMeta): RenderedPage => {
    const body = Buffer.from(JSON.stringify({ items: rows.map((row) => represent(req, row)), meta }));
    return { body, etag: etagOfBytes(body), link: linkHeader(meta) };
  };

  /** Renders the page the query asks for; `version` is the collection state its rows belong to. */
  const renderList = async (req: Request, url: string, query: ListQuery, state: CollectionState) => {
    if (query.cursor !== undefined) {
      const found = await service.listAfter(db, query.cursor, query.per_page);
      return { version: found.state.version, page: render(req, found.rows, cursorMeta(url, query.per_page, found.state.total, found.nextAfter)) };
    }
    const number = query.page ?? 1;
    const found = await service.listPage(db, number, query.per_page, state);
    return { version: found.state.version, page: render(req, found.rows, pageMeta(url, number, query.per_page, found.state.total)) };
  };

  const itemEtag = (row: PxcodeRow) => etagOf([row.pxcode, row.procedure]);
  const renderItem = (req: Request, row: PxcodeRow): RenderedPage => ({
    body: Buffer.from(JSON.stringify(represent(req, row))),
    etag: itemEtag(row),
  });
  const send = (res: Response, page: RenderedPage) => {
    // With the ETag set, Express answers If-None-Match with 304 itself.
    res.set({ ETag: page.etag, 'Content-Type': 'application/json; charset=utf-8' });
    if (page.link) res.set('Link', page.link);
    res.send(page.body);
  };
  const sendItem = (req: Request, res: Response, row: PxcodeRow) => send(res, renderItem(req, row));

  /**
   * A GET answered with what was rendered for the same request at the current version, else
   * rendered now, sent, and then kept (an answer that cannot be sent is never replayed).
   */
  const answered =
    <P extends Record<string, string>>(
      render: (req: Request<P>, state: CollectionState) => Promise<{ page: RenderedPage; version: string }>,
    ): RequestHandler<P> =>
    async (req, res) => {
      const state = await collectionState.read(readState);
      const key = answerKey(req);
      const cached = answers.get(state.version, key);
      if (cached) return send(res, cached);
      const { page, version } = await render(req, state);
      send(res, page);
      answers.set(version, key, page);
    };

  // The ETag a GET of this item sends right now: If-Match compares against it.
  const ifMatch = (req: Request) => (current: PxcodeRow) => {
    if (!ifMatchPasses(req.get('if-match'), itemEtag(current))) {
      throw new HttpError(412, `pxcode '${current.pxcode}' has changed since it was read (If-Match); GET it again`);
    }
  };

  router
    .route('/')
    .get(answered((req, state) => renderList(req, collectionUrl(req), listQuery.parse(req.query), state)))
    .post(requireJson, async (req, res) => {
      const item = changed(await service.create(db, createBody.parse(req.body)));
      sendItem(req, res.status(201).location(represent(req, item).url), item);
    })
    .all(methodNotAllowed(['GET', 'HEAD', 'POST']));

  // A string that cannot be a code names no item: 404 without asking the database.
  router.param('pxcode', (req, _res, next, pxcode: string) => {
    if (!pxcodeSchema.safeParse(pxcode).success) throw new HttpError(404, `pxcode '${pxcode}' was not found`);
    next();
  });

  router
    .route('/:pxcode')
    .get(
      // Read after the version: an item kept under it is never older than that version.
      answered<{ pxcode: string }>(async (req, state) => ({ page: renderItem(req, await service.get(db, req.params.pxcode)), version: state.version })),
    )
    .put(requireJson, async (req, res) => {
      const changes = replaceBody.parse(req.body);
      sendItem(req, res, changed(await service.update(db, req.params.pxcode, changes, ifMatch(req))));
    })
    .patch(requireJson, async (req, res) => {
      const changes = patchBody.parse(req.body);
      sendItem(req, res, changed(await service.update(db, req.params.pxcode, changes, ifMatch(req))));
    })
    .delete(async (req, res) => {
      changed(await service.remove(db, req.params.pxcode, ifMatch(req)));
      res.status(204).end();
    })
    .all(methodNotAllowed(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE']));

  return router;
}
