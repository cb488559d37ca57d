import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';

type Header = { description: string; schema: { type: 'string' | 'integer'; minimum?: number; pattern?: string } };

const text = (description: string): Header => ({ description, schema: { type: 'string' } });

/** Every response header the document names, registered once under components/headers. */
const headers = {
  ETag: { description: 'A strong entity tag: send it back in If-None-Match (304) or If-Match (writes)', schema: { type: 'string', pattern: '^"[^"]*"$' } },
  Link: text('RFC 8288 links to the first, prev, next and last pages, as in `meta`'),
  Location: text("The new item's URL"),
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
  'WWW-Authenticate': text('The challenge: Basic, or Bearer with error="invalid_token" after a refused token'),
  Vary: text('`Accept`: the collection answers JSON or CSV by it, so a shared cache keeps them apart'),
  'Content-Disposition': text('`attachment; filename="pxcodes.csv"`: the CSV export is a file'),
  'Cache-Control': text('`private, no-cache` on authenticated answers: kept by the client only, revalidated with the ETag'),
  'X-RateLimit-Limit': { description: 'With RATE_LIMIT: requests allowed per window', schema: { type: 'integer', minimum: 0 } },
  'X-RateLimit-Remaining': { description: 'With RATE_LIMIT: requests left in this window', schema: { type: 'integer', minimum: 0 } },
  'X-RateLimit-Reset': { description: 'With RATE_LIMIT: when the window ends (Unix seconds)', schema: { type: 'integer', minimum: 0 } },
  'RateLimit-Policy': text('With RATE_LIMIT: the policy, as in the IETF RateLimit header fields draft (`"default";q=N;w=S`)'),
  RateLimit: text('With RATE_LIMIT: what is left (`"default";r=N;t=S`)'),
} satisfies Record<string, Header>;

export type HeaderName = keyof typeof headers;

export const rateLimitHeaders = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'RateLimit-Policy', 'RateLimit'] as const;

/** The rate-limit headers, on nearly every answer, are components; the rest are written where they are sent. */
export function registerHeaders(registry: OpenAPIRegistry): void {
  for (const name of rateLimitHeaders) registry.registerComponent('headers', name, headers[name]);
}

/** A response's headers; `required` ones are always sent. */
export function headerRefs(names: readonly HeaderName[], required: readonly HeaderName[] = []) {
  const refs: Record<string, { $ref: string } | Header | (Header & { required: true })> = {};
  for (const name of [...required, ...names]) {
    if (required.includes(name)) refs[name] = { ...headers[name], required: true };
    else refs[name] = (rateLimitHeaders as readonly string[]).includes(name) ? { $ref: `#/components/headers/${name}` } : headers[name];
  }
  return refs;
}
