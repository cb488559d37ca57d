import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the request path records; the gauges are read on each scrape (gauges.ts). */
export interface Metrics {
  registry: Registry;
  requestDuration: Histogram<'method' | 'route' | 'status'>;
  tooManyRequests: Counter<'reason'>;
  cacheHits: Counter;
  cacheMisses: Counter;
}

// From a cached answer (well under a millisecond) to the longest request timeout.
const durationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A registry of its own (not prom-client's global one), with the process's default metrics. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters, which promtool refuses; each repeats the sum of its per-type series.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const registers = [registry];
  return {
    registry,
    requestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from a request arriving to its answer being sent, by method, route template and status; every answer, whoever sent it',
      labelNames: ['method', 'route', 'status'],
      buckets: durationBuckets,
      registers,
    }),
    tooManyRequests: new Counter({
      name: 'starter_http_too_many_requests_total',
      help: 'Answers 429, by reason: rate_limit (RATE_LIMIT) or failed_logins (the failed-login block)',
      labelNames: ['reason'],
      registers,
    }),
    cacheHits: new Counter({
      name: 'starter_answer_cache_hits_total',
      help: 'GETs of the collection answered from the cached answers before Express',
      registers,
    }),
    cacheMisses: new Counter({
      name: 'starter_answer_cache_misses_total',
      help: 'GETs of the collection answered 200 or 304 by Express, not from the cached answers',
      registers,
    }),
  };
}
