import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';

export type { Logger };

// Credentials never reach the logs, whatever the level.
const redact = {
  paths: ['req.headers.authorization', 'req.headers.cookie', 'password', '*.password'],
  censor: '[redacted]',
};

function prettyTransport(): pino.TransportSingleOptions | undefined {
  // Pretty output only for a person at a terminal, and only where pino-pretty is installed (not in images).
  if (!process.stdout.isTTY) return undefined;
  try {
    require.resolve('pino-pretty');
    return { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } };
  } catch {
    return undefined;
  }
}

/** JSON lines; the CLI logs to stderr, its results go to stdout. */
export function createLogger(level: string, options: { fd?: 1 | 2; stream?: pino.DestinationStream } = {}): Logger {
  if (options.stream) return pino({ level, redact }, options.stream);
  const fd = options.fd ?? 1;
  const transport = fd === 1 ? prettyTransport() : undefined;
  if (transport) return pino({ level, redact, transport });
  return pino({ level, redact }, pino.destination({ fd, sync: fd === 2 }));
}

const requestIdPattern = /^[\w.:-]{1,128}$/;

declare module 'node:http' {
  interface IncomingMessage {
    id: string;
  }
}

export interface RequestLog {
  /** Answered by the cached-answers front, not by Express. */
  cached: boolean;
}

/** One line per request, at its end. Not pino-http: its per-request child logger was the largest
 * cost of a cached GET (docs/performance.md). */
export function logRequest(logger: Logger, req: IncomingMessage, res: ServerResponse): RequestLog {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  req.id = id;
  const started = performance.now();
  // Read now: an aborted request's socket may lose its address, and Express rewrites req.url.
  const { method, url } = req;
  const remoteAddress = req.socket.remoteAddress;
  const log: RequestLog = { cached: false };
  // 'close' follows 'finish' on every response, and comes alone when the client went away.
  res.once('close', () => {
    const line = {
      req: { id, method, url, remoteAddress },
      ...(res.headersSent ? { res: { statusCode: res.statusCode } } : {}),
      responseTime: Math.round((performance.now() - started) * 10) / 10,
      ...(log.cached ? { cached: true } : {}),
    };
    if (!res.writableFinished) logger.warn(line, 'request aborted');
    else if (res.statusCode >= 500) logger.error(line, 'request errored');
    else logger.info(line, 'request completed');
  });
  return log;
}
