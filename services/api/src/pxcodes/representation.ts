import type { Response } from 'express';
import { etagOf, etagOfBytes } from '../http/etags';
import { linkHeader, type PageMeta } from '../http/links';
import type { RenderedPage } from './cache/pageCache';
import type { PxcodeRow } from './repository';

export interface PxcodeItem {
  procedure: string;
  pxcode: string;
  url: string;
}

/** An item as the seed shows it, keys in its order; `collectionUrl` ends with a slash. */
export function itemOf(collectionUrl: string, row: PxcodeRow): PxcodeItem {
  return { procedure: row.procedure, pxcode: row.pxcode, url: `${collectionUrl}${encodeURIComponent(row.pxcode)}` };
}

/** The ETag a GET of this item sends, and If-Match compares against. */
export const itemEtag = (row: PxcodeRow): string => etagOf([row.pxcode, row.procedure]);

export function renderItem(collectionUrl: string, row: PxcodeRow): RenderedPage {
  return { body: Buffer.from(JSON.stringify(itemOf(collectionUrl, row))), etag: itemEtag(row) };
}

/** The item with only `fields`, kept in the seed's key order. */
function pick(item: PxcodeItem, fields: readonly string[]): Partial<PxcodeItem> {
  return Object.fromEntries(Object.entries(item).filter(([key]) => fields.includes(key)));
}

/** A list page in the seed's shape, {items, meta}, with the same links in a Link header. */
export function renderPage(collectionUrl: string, rows: PxcodeRow[], meta: PageMeta, fields?: readonly string[]): RenderedPage {
  const items = rows.map((row) => (fields ? pick(itemOf(collectionUrl, row), fields) : itemOf(collectionUrl, row)));
  const body = Buffer.from(JSON.stringify({ items, meta }));
  return { body, etag: etagOfBytes(body), link: linkHeader(meta) };
}

export function sendRendered(res: Response, page: RenderedPage): void {
  // With the ETag set, Express answers If-None-Match with 304 itself.
  res.set({ ETag: page.etag, 'Content-Type': 'application/json; charset=utf-8' });
  if (page.link) res.set('Link', page.link);
  res.send(page.body);
}
