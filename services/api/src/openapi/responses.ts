import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import type { ZodType } from 'zod';
import { headerRefs, rateLimitHeaders, type HeaderName } from './headers';
import { errorSchema } from './schemas';

export type Responses = Record<string, ResponseConfig>;

/** The headers each error status always carries (errors.ts, auth/passport.ts, limits/, front/door.ts). */
const errorHeaders: Partial<Record<number, HeaderName[]>> = { 401: ['WWW-Authenticate'], 429: ['Retry-After'], 503: ['Retry-After'] };

// Statuses every request past the door can meet, whatever the route.
const doorErrors = {
  429: 'Rate limit spent (RATE_LIMIT), or too many failed logins from this address or for this name',
  500: 'An unexpected error; the message names the request id it was logged with',
};

/** Statuses every authenticated route can meet before its own work. */
export const authErrors = {
  ...doorErrors,
  400: 'A malformed Authorization header, an invalid Host header or percent-encoding in the URL',
  401: 'No credentials, or wrong ones (a refused token is answered with a Bearer challenge)',
  503: 'The database is unavailable, too many logins are being checked at once, or (CSV export) as many exports run as the pool allows: retry after Retry-After',
};

export const publicErrors = doorErrors;

/** `{status, error, message}` for each status, with the headers that status carries. */
export function errorResponses(described: Record<number, string>): Responses {
  const responses: Responses = {};
  for (const [status, description] of Object.entries(described)) {
    responses[status] = {
      description,
      headers: headerRefs(rateLimitHeaders, errorHeaders[Number(status)] ?? []),
      content: { 'application/json': { schema: errorSchema } },
    };
  }
  return responses;
}

interface Success {
  description: string;
  schema?: ZodType;
  example?: unknown;
  mediaType?: string;
  headers?: HeaderName[];
  required?: HeaderName[];
}

/** A success answer; every answer past the door may carry the rate-limit headers. */
export function success({ description, schema, example, mediaType = 'application/json', headers = [], required = [] }: Success): ResponseConfig {
  return {
    description,
    headers: headerRefs([...headers, ...rateLimitHeaders], required),
    ...(schema && { content: { [mediaType]: { schema, ...(example !== undefined && { example }) } } }),
  };
}

export const notModified = (required: HeaderName[] = []): ResponseConfig => success({ description: 'Not Modified: If-None-Match named the current ETag', required: ['ETag', ...required] });
