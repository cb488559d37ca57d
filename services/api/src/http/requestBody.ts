import { isUtf8 } from 'node:buffer';
import type { Request, RequestHandler } from 'express';
import { HttpError, unsupportedCharset } from '../errors';

// The JSON parser's `verify`: JSON is UTF-8 (RFC 8259 8.1), even where the parser could decode
// another charset; bytes that are not UTF-8 are refused, where decoding would store U+FFFD.
export function verifyUtf8(_req: unknown, _res: unknown, body: Buffer, charset: string | null): void {
  if (charset !== 'utf-8') throw new HttpError(415, unsupportedCharset(String(charset)));
  if (!isUtf8(body)) throw new HttpError(400, 'the request body is not valid UTF-8');
}

// body-parser takes zstd only where Node has it: one list for every Node.
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

/** A write's body must be JSON; an empty one passes, so that zod names the missing fields. */
export const requireJson: RequestHandler = (req, _res, next) => {
  const empty = req.headers['content-length'] === '0' && !req.headers['transfer-encoding'];
  if (!empty && req.is(['application/json', 'application/*+json']) === false) {
    throw new HttpError(415, `Content-Type must be application/json, not '${req.get('content-type') ?? 'none'}'`);
  }
  next();
};
