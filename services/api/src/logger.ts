import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';

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

/**
 * JSON lines to stdout, or to another file descriptor (the CLI logs to stderr, its results go to
 * stdout), or to a stream (tests read what was logged).
 */
export function createLogger(level: string, options: { fd?: 1 | 2; stream?: pino.DestinationStream } = {}): Logger {
  if (options.stream) return pino({ level, redact }, options.stream);
  const fd = options.fd ?? 1;
  const transport = fd === 1 ? prettyTransport() : undefined;
  if (transport) return pino({ level, redact, transport });
  return pino({ level, redact }, pino.destination({ fd, sync: fd === 2 }));
}

const requestIdPattern = /^[\w.:-]{1,128}$/;

/** One line per request: method, path, status, duration and a request id (also sent as X-Request-Id). */
export function createHttpLogger(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel(_req, res, error) {
      if (error || res.statusCode >= 500) return 'error';
      return 'info';
    },
    serializers: {
      req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        url: req.url,
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    wrapSerializers: true,
  });
}
