import type { Request, RequestHandler } from 'express';
import { HttpError } from '../errors';

// A DNS name or IPv4 address, or a bracketed IPv6 address, and an optional port.
const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function baseUrl(req: Request, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl;
  // req.host may come from X-Forwarded-Host and goes into headers: it must be a host, nothing else.
  const host = req.host ?? 'localhost';
  if (!hostPattern.test(host)) throw new HttpError(400, 'the Host header is not a valid host[:port]');
  return `${req.protocol}://${host}`;
}

/** Judges the Host before anything is read or written: a request refused for it has changed nothing. */
export const requireValidHost =
  (publicUrl: string | undefined): RequestHandler =>
  (req, _res, next) => {
    baseUrl(req, publicUrl);
    next();
  };

export interface PageMeta {
  page: number | null;
  pages: number;
  per_page: number;
  total: number;
  prev: string | null;
  next: string | null;
  first: string;
  last: string;
}

/**
 * The seed's meta block, keys in its order: `pages` is 0 for an empty collection, whose only page is 1.
 * `params` ('' or '&name=value…') are the request's other parameters: every link carries them.
 */
export function pageMeta(collectionUrl: string, page: number, perPage: number, total: number, params = ''): PageMeta {
  const pages = Math.ceil(total / perPage);
  const lastPage = Math.max(pages, 1);
  const link = (n: number) => `${collectionUrl}?per_page=${perPage}${params}&page=${n}`;
  return {
    first: link(1),
    last: link(lastPage),
    next: page < pages ? link(page + 1) : null,
    page,
    pages,
    per_page: perPage,
    prev: page > 1 ? link(page - 1) : null,
    total,
  };
}

/** A keyset page knows neither its number nor `prev`: both null. */
export function cursorMeta(collectionUrl: string, perPage: number, total: number, nextCursor: string | undefined, params = ''): PageMeta {
  return {
    ...pageMeta(collectionUrl, 1, perPage, total, params),
    next: nextCursor === undefined ? null : `${collectionUrl}?per_page=${perPage}${params}&cursor=${nextCursor}`,
    page: null,
    prev: null,
  };
}

export function linkHeader(meta: Pick<PageMeta, 'first' | 'last' | 'prev' | 'next'>): string {
  const links: string[] = [];
  for (const rel of ['first', 'prev', 'next', 'last'] as const) {
    const url = meta[rel];
    if (url) links.push(`<${url}>; rel="${rel}"`);
  }
  return links.join(', ');
}
