import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { HttpError, unsupportedCharset } from './errors';

// A DNS name or IPv4 address, or a bracketed IPv6 address, and an optional port.
const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The absolute base of every link: PUBLIC_URL when set, else the request's own origin. */
export function baseUrl(req: Request, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl;
  // req.host honours X-Forwarded-Host only when 'trust proxy' allows it. It goes into links and
  // headers, so it must be a host and nothing else.
  const host = req.host ?? 'localhost';
  if (!hostPattern.test(host)) throw new HttpError(400, 'the Host header is not a valid host[:port]');
  return `${req.protocol}://${host}`;
}

/**
 * The JSON body parser's `verify`, given the charset it would decode with (utf-8 when none is
 * declared). RFC 8259 8.1: JSON is UTF-8, so any other charset is refused, even one body-parser
 * decodes (UTF-16, UTF-32, UTF-7 can change text on the way); and bytes that are not UTF-8 are
 * refused where decoding would have stored U+FFFD. (Its status is kept: see errors.ts.)
 */
export function verifyUtf8(_req: unknown, _res: unknown, body: Buffer, charset: string | null): void {
  if (charset !== 'utf-8') throw new HttpError(415, unsupportedCharset(String(charset)));
  if (!isUtf8(body)) throw new HttpError(400, 'the request body is not valid UTF-8');
}

// body-parser also takes zstd where Node has it (22.15+, 24) and not elsewhere: one list for all.
const bodyEncodings = new Set(['identity', 'gzip', 'deflate', 'br']);

/** Before the JSON body parser: a body in any other Content-Encoding is 415 naming it. */
export function knownEncoding(req: Request, _res: unknown, next: () => void): void {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !bodyEncodings.has(encoding)) {
    throw new HttpError(415, `Content-Encoding '${encoding}' is not supported; send gzip, deflate, br or identity`);
  }
  next();
}

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

/**
 * A keyset page: the seed's meta with `next` continuing by cursor. Its page number is not known
 * (null), nor is `prev`; `first` and `last` stay page-number links as in the seed.
 */
export function cursorMeta(collectionUrl: string, perPage: number, total: number, nextAfter: number | undefined): PageMeta {
  return {
    ...pageMeta(collectionUrl, 1, perPage, total),
    next: nextAfter === undefined ? null : `${collectionUrl}?per_page=${perPage}&cursor=${encodeCursor(nextAfter)}`,
    page: null,
    prev: null,
  };
}

// Cursors are opaque to clients; versioned so their form can change without breaking old links.
export function encodeCursor(afterId: number): string {
  return Buffer.from(`v1:${afterId}`).toString('base64url');
}

const maxId = 2 ** 31 - 1;

/** The id a cursor continues after, or undefined when it is not a cursor this API gave out. */
export function decodeCursor(cursor: string): number | undefined {
  const match = /^v1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  const afterId = match ? Number(match[1]) : undefined;
  // Ids are PostgreSQL integers: a larger one was never given out, and the query would fail on it.
  // base64url decoding skips characters outside its alphabet: only the exact form given out counts.
  return afterId !== undefined && afterId <= maxId && encodeCursor(afterId) === cursor ? afterId : undefined;
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

/**
 * A strong entity tag from the stored fields alone, not from the links in the representation, so
 * clients that reach the API under different host names agree on it (If-Match works for all).
 */
export function etagOf(fields: readonly unknown[]): string {
  return etagOfBytes(JSON.stringify(fields));
}

/** A strong entity tag for exact bytes. */
export function etagOfBytes(bytes: string | Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
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
