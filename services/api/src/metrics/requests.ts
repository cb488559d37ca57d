import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestLog } from '../logger';
import type { Metrics } from './registry';
import { routeTemplate } from './routes';

export type RequestObserver = (req: IncomingMessage, res: ServerResponse, log: RequestLog) => void;

const collectionRoutes = new Set(['/api/v1.0/pxcodes', '/api/v1.0/pxcodes/:pxcode']);

/** One observation per answer sent, whoever sends it (front/pipeline.ts); aborted ones are not. */
export function observeRequests(metrics: Metrics): RequestObserver {
  const { requestDuration, tooManyRequests, cacheHits, cacheMisses } = metrics;
  for (const reason of ['rate_limit', 'failed_logins']) tooManyRequests.inc({ reason }, 0);
  return (req, res, log) => {
    const started = performance.now();
    // Read now: Express rewrites req.url on its way through routers.
    const { method = 'unknown', url } = req;
    res.once('finish', () => {
      const status = res.statusCode;
      const route = routeTemplate(url);
      requestDuration.observe({ method, route, status }, (performance.now() - started) / 1000);
      if (status === 429) tooManyRequests.inc({ reason: refusalReason(res) });
      else if (log.cached) cacheHits.inc();
      else if (method === 'GET' && (status === 200 || status === 304) && collectionRoutes.has(route) && !isCsv(res)) cacheMisses.inc();
    });
  };
}

// A CSV export is never kept, so it is no miss of the answer cache.
const isCsv = (res: ServerResponse) => String(res.getHeader('Content-Type') ?? '').startsWith('text/csv');

// A failed-login 429 goes out without the request budget's headers (limits/rateLimit.ts
// withoutRequestBudget); a rate-limit 429 always carries them.
const refusalReason = (res: ServerResponse) => (res.hasHeader('RateLimit-Policy') ? 'rate_limit' : 'failed_logins');
