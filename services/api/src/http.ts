import type { Request } from 'express';
import etag from 'etag';

/** The absolute base of every link: PUBLIC_URL when set, else the request's own origin. */
export function baseUrl(req: Request, publicUrl: string | undefined): string {
  // req.host honours X-Forwarded-Host only when 'trust proxy' allows it.
  return publicUrl ?? `${req.protocol}://${req.host ?? 'localhost'}`;
}

export interface PageMeta {
  page: number;
  pages: number;
  per_page: number;
  total: number;
  prev: string | null;
  next: string | null;
  first: string;
  last: string;
}

/** The seed's meta block, keys in its order: `pages` is 0 for an empty collection, whose only page is 1. */
export function pageMeta(collectionUrl: string, page: number, perPage: number, total: number): PageMeta {
  const pages = Math.ceil(total / perPage);
  const lastPage = Math.max(pages, 1);
  const link = (n: number) => `${collectionUrl}?per_page=${perPage}&page=${n}`;
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

/** The same links as an RFC 8288 Link header. */
export function linkHeader(meta: Pick<PageMeta, 'first' | 'last' | 'prev' | 'next'>): string {
  const links: string[] = [];
  for (const rel of ['first', 'prev', 'next', 'last'] as const) {
    const url = meta[rel];
    if (url) links.push(`<${url}>; rel="${rel}"`);
  }
  return links.join(', ');
}

/** The strong ETag Express sends for this JSON body (app setting 'etag' = 'strong'). */
export function etagOf(body: unknown): string {
  return etag(JSON.stringify(body));
}

/**
 * RFC 9110 section 13.1.1: If-Match passes when a listed entity tag matches the current one by
 * strong comparison, or is `*` and the resource exists. No header: no precondition.
 */
export function ifMatchPasses(header: string | undefined, currentEtag: string): boolean {
  if (header === undefined) return true;
  const trimmed = header.trim();
  if (trimmed === '*') return true;
  return trimmed
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => !tag.startsWith('W/') && tag === currentEtag);
}
