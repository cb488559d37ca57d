import { isUtf8 } from 'node:buffer';
import type { Request } from 'express';
import { HttpError, unsupportedCharset } from '../errors';

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
