import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from './logger';
import { ZodError } from 'zod';

/** An error that carries its HTTP answer; `message` is shown to the client as it is. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** An answer that refuses a request, as plain data: a flood of them costs no stack traces. */
export type Refusal = Pick<HttpError, 'status' | 'message' | 'headers'>;

export interface ErrorBody {
  status: number;
  error: string;
  message: string;
}

export function errorBody(status: number, message: string): ErrorBody {
  return { status, error: STATUS_CODES[status] ?? 'Error', message };
}

export function describeZodError(error: ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length ? issue.path.join('.') : 'body';
      return `${field}: ${issue.message}`;
    })
    .join('; ');
}

export const unsupportedCharset = (charset: string) => `charset '${charset}' is not supported: send the JSON body as UTF-8`;

// SQLSTATE classes that mean "the database is not there right now", not "the request is wrong".
const unavailableCodes = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE']);

export function isDatabaseUnavailable(error: unknown): boolean {
  // Duck-typed, not instanceof: errors from node:net may come from another realm (jest's vm).
  if (typeof error !== 'object' || error === null) return false;
  const { code, name, message, errors } = error as { code?: unknown; name?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && (unavailableCodes.has(code) || networkCodes.has(code))) return true;
  if (Array.isArray(errors)) return errors.some(isDatabaseUnavailable);
  return (
    name === 'KnexTimeoutError' ||
    (typeof message === 'string' && /Connection terminated|Client has encountered a connection error/.test(message))
  );
}

function toHttpError(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof ZodError) return new HttpError(400, describeZodError(error));
  if (isDatabaseUnavailable(error)) {
    return new HttpError(503, 'the database is unavailable; try again shortly', { 'Retry-After': '5' });
  }
  const sqlState = (error as { code?: unknown }).code;
  if (sqlState === '23505') return new HttpError(409, 'a record with this key already exists');
  // deadlock_detected / serialization_failure: PostgreSQL gave this request up for another; retrying works.
  if (sqlState === '40P01' || sqlState === '40001') {
    return new HttpError(503, 'the database gave up this request for a concurrent one; retry it', { 'Retry-After': '1' });
  }
  // character_not_in_repertoire / untranslatable_character: a NUL, which PostgreSQL text cannot hold.
  if (sqlState === '22021' || sqlState === '22P05') {
    return new HttpError(400, 'the request contains a character that cannot be stored (NUL)');
  }
  // The router's decoding of %-escapes in the path.
  if (error instanceof URIError || (error as { name?: unknown }).name === 'URIError') {
    return new HttpError(400, 'the URL has invalid percent-encoding');
  }
  // A library's client error (http-errors: a 4xx `status` with a `type` or `expose`) keeps its status.
  const { status, type, expose, errno, encoding, charset } = error as { status?: unknown; type?: unknown; expose?: unknown; errno?: unknown; encoding?: unknown; charset?: unknown };
  if (typeof status === 'number' && status >= 400 && status < 500 && (typeof type === 'string' || expose === true)) {
    const messages: Record<string, string> = {
      'entity.parse.failed': 'the request body is not valid JSON',
      'entity.too.large': 'the request body is too large',
      'encoding.unsupported': `Content-Encoding '${String(encoding)}' is not supported; send gzip, deflate, br or identity`,
      'charset.unsupported': unsupportedCharset(String(charset).toLowerCase()),
      'request.aborted': 'the request was aborted',
      'request.size.invalid': 'the request body does not match its Content-Length',
    };
    // body-parser passes zlib's own error on (with no type) when a compressed body is corrupt.
    const corrupt = type === undefined && typeof errno === 'number' ? 'the request body could not be decompressed as its Content-Encoding says' : undefined;
    return new HttpError(status, (typeof type === 'string' ? messages[type] : undefined) ?? corrupt ?? STATUS_CODES[status] ?? 'bad request');
  }
  return undefined;
}

export const notFound: RequestHandler = (req) => {
  throw new HttpError(404, `no resource at ${req.method} ${req.path}`);
};

export function methodNotAllowed(allowed: string[]): RequestHandler {
  const allow = [...allowed, 'OPTIONS'].join(', ');
  return (req, res) => {
    if (req.method === 'OPTIONS') {
      res.set('Allow', allow).status(204).end();
      return;
    }
    throw new HttpError(405, `${req.method} is not allowed here; use ${allowed.join(', ')}`, { Allow: allow });
  };
}

/** Sent with end(), not json(): an error carries no ETag that could pass for the resource's. */
export function sendError(res: ServerResponse, error: Refusal): void {
  res.statusCode = error.status;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(errorBody(error.status, error.message)));
}

export function respondWithError(logger: Logger, error: unknown, req: IncomingMessage, res: ServerResponse): void {
  const known = toHttpError(error);
  const httpError = known ?? new HttpError(500, `an unexpected error occurred; it was logged with request id ${req.id}`);
  if (!known) logger.error({ err: error, req: { id: req.id } }, 'unhandled error');
  // A 503 the API chose (HttpError) says why itself; one translated from a database error is an outage.
  else if (httpError.status === 503) logger.warn({ err: error, req: { id: req.id } }, error instanceof HttpError ? 'refused for now' : 'database unavailable');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendError(res, httpError);
}

export const errorHandler = (logger: Logger): ErrorRequestHandler => (error, req, res, _next) => respondWithError(logger, error, req, res);

/** A setting that cannot be used: the process says which and stops (exit 1). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
