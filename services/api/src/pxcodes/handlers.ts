import type { Request, RequestHandler, RequestParamHandler } from 'express';
import type { Database } from '../db/database';
import { HttpError } from '../errors';
import { ifMatchPasses } from '../http/etags';
import { baseUrl } from '../http/links';
import { PageCache, type RenderedPage } from './cache/pageCache';
import type { CollectionStateCache } from './cache/stateCache';
import type { CollectionState, PxcodeRow } from './repository';
import { itemEtag, itemOf, renderItem, renderPage, sendRendered } from './representation';
import { readList } from './listing';
import { parseListQuery } from './listQuery';
import { collectionFormat, requireJsonAcceptable } from './negotiation';
import { sendCsv } from './export/csvAnswer';
import { createBody, pxcodeSchema, type PxcodeChanges } from './schema';
import * as service from './service';

export interface PxcodeContext {
  db: Database;
  publicUrl: string | undefined;
  /** How each request learns the collection's current version. */
  collectionState: CollectionStateCache;
  /** Rendered GET answers, shared with the cached-answers front (cache/answers.ts). */
  answers: PageCache;
  readState: () => Promise<CollectionState>;
}

type PxcodeParams = { pxcode: string };

interface Rendered {
  page: RenderedPage;
  /** The collection version the page's rows belong to: it is kept under that version. */
  version: string;
}

const collectionUrl = (ctx: PxcodeContext, req: Request) => `${baseUrl(req, ctx.publicUrl)}${req.baseUrl}/`;

/** Kept only once sent: an answer that cannot be sent is never replayed. */
function answered<P extends Record<string, string>>(
  ctx: PxcodeContext,
  render: (req: Request<P>, state: CollectionState) => Promise<Rendered>,
): RequestHandler<P> {
  const { collectionState, readState, answers } = ctx;
  return async (req, res) => {
    const state = await collectionState.read(readState);
    const key = PageCache.key(baseUrl(req, ctx.publicUrl), req.originalUrl);
    const cached = answers.get(state.version, key);
    if (cached) return sendRendered(res, cached);
    const { page, version } = await render(req, state);
    sendRendered(res, page);
    answers.set(version, key, page);
  };
}

async function renderList(ctx: PxcodeContext, req: Request, state: CollectionState): Promise<Rendered> {
  const url = collectionUrl(ctx, req);
  const query = parseListQuery(req.query as Record<string, unknown>);
  const { rows, meta, version } = await readList(ctx.db, url, query, state);
  return { version, page: renderPage(url, rows, meta, query.fields) };
}

/** The write's precondition: If-Match against the ETag a GET of the item sends right now. */
const ifMatch = (req: Request) => (current: PxcodeRow) => {
  if (!ifMatchPasses(req.get('if-match'), itemEtag(current))) {
    throw new HttpError(412, `pxcode '${current.pxcode}' has changed since it was read (If-Match); GET it again`);
  }
};

/** A string that cannot be a code names no item: 404 without asking the database. */
export const requireCodeShape: RequestParamHandler = (_req, _res, next, pxcode: string) => {
  if (!pxcodeSchema.safeParse(pxcode).success) throw new HttpError(404, `pxcode '${pxcode}' was not found`);
  next();
};

/** The collection as JSON pages (cached) or, asked for text/csv, every row at once (never cached). */
export const listPxcodes = (ctx: PxcodeContext): RequestHandler<Record<string, string>> => {
  const json = answered(ctx, (req, state) => renderList(ctx, req, state));
  return async (req, res, next) => {
    res.vary('Accept');
    if (collectionFormat(req) === 'csv') return sendCsv(ctx.db, req, res);
    return json(req, res, next);
  };
};

// The row is read after the version: an item kept under it is never older than that version.
export const readPxcode = (ctx: PxcodeContext): RequestHandler<PxcodeParams> => {
  const json = answered<PxcodeParams>(ctx, async (req, state) => ({
    page: renderItem(collectionUrl(ctx, req), await service.get(ctx.db, req.params.pxcode)),
    version: state.version,
  }));
  return async (req, res, next) => {
    res.vary('Accept');
    requireJsonAcceptable(req);
    return json(req, res, next);
  };
};

export const createPxcode =
  (ctx: PxcodeContext): RequestHandler =>
  async (req, res) => {
    const row = await service.create(ctx.db, createBody.parse(req.body));
    const url = collectionUrl(ctx, req);
    sendRendered(res.status(201).location(itemOf(url, row).url), renderItem(url, row));
  };

export const updatePxcode =
  (ctx: PxcodeContext, body: { parse(input: unknown): PxcodeChanges }): RequestHandler<PxcodeParams> =>
  async (req, res) => {
    const changes = body.parse(req.body);
    const row = await service.update(ctx.db, req.params.pxcode, changes, ifMatch(req));
    sendRendered(res, renderItem(collectionUrl(ctx, req), row));
  };

export const deletePxcode =
  (ctx: PxcodeContext): RequestHandler<PxcodeParams> =>
  async (req, res) => {
    await service.remove(ctx.db, req.params.pxcode, ifMatch(req));
    res.status(204).end();
  };
