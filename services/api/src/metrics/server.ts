import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { ConfigError, errorBody } from '../errors';
import type { Logger } from '../logger';

export interface MetricsServer {
  port: number;
  /** Stops at once: a scrape is repeated by its scraper, nothing needs draining. */
  close(): Promise<void>;
}

function answerError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(errorBody(status, message)));
}

/** GET /metrics in Prometheus's text format, on a server and port of its own. */
export function metricsServer(registry: Registry, logger: Logger): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/metrics') return answerError(res, 404, `no resource at ${req.method} ${path}: metrics are at GET /metrics`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return answerError(res, 405, `${req.method} is not allowed here; use GET`, { Allow: 'GET, HEAD' });
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'metrics could not be collected');
        answerError(res, 500, 'the metrics could not be collected; the error was logged');
      },
    );
  });
}

/** Listens on `host`:`port`; a port in use is a start-up error that says what to do. */
export async function startMetricsServer(registry: Registry, host: string, port: number, logger: Logger): Promise<MetricsServer> {
  const server = metricsServer(registry, logger);
  await new Promise<void>((resolve, reject) => {
    const refuse = (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'is in use' : `cannot be listened on (${error.message})`;
      reject(new ConfigError(`METRICS_PORT ${port} on ${host} ${reason}: set METRICS_PORT to a free port, or to 0 to turn metrics off`));
    };
    server.once('error', refuse);
    server.listen(port, host, () => {
      server.off('error', refuse);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
