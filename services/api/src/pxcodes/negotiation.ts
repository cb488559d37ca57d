import type { Request } from 'express';
import { HttpError } from '../errors';

export type CollectionFormat = 'json' | 'csv';

const json = 'application/json';
const csv = 'text/csv';

/** What a GET of the collection answers with, by the request's Accept; 406 when it accepts neither. */
export function collectionFormat(req: Request): CollectionFormat {
  const chosen = req.accepts([json, csv]);
  if (chosen === csv) return 'csv';
  if (chosen === json) return 'json';
  throw new HttpError(406, `Accept: the collection is served as ${json} or ${csv}, not as ${describe(req)}`);
}

/** An item is served as JSON only. */
export function requireJsonAcceptable(req: Request): void {
  if (!req.accepts(json)) throw new HttpError(406, `Accept: an item is served as ${json} only, not as ${describe(req)}`);
}

const describe = (req: Request) => {
  const accept = req.get('accept') ?? '';
  return accept.length > 100 ? `${accept.slice(0, 100)}…` : accept === '' ? '(empty)' : accept;
};

// Accept values that negotiate to JSON with no parsing: the answer cache in front of Express serves
// only these (and no Accept at all); any other value goes to Express, which negotiates it.
const plainJson = new Set(['*/*', json, `${json}; charset=utf-8`, 'application/*', `${json}, text/plain, */*`, `${json}, */*`]);

export const acceptsPlainJson = (accept: string | undefined) => accept === undefined || plainJson.has(accept);
