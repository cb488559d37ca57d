import type { LoadResult } from './load';

/** The figures of requests sent one at a time by one client: the rate is their count over their summed time. */
export function oneClientResult(timingsMs: number[], statusCodes: Record<string, number>): LoadResult {
  const sorted = [...timingsMs].sort((a, b) => a - b);
  const at = (q: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1));
  const seconds = sorted.reduce((sum, t) => sum + t, 0) / 1000;
  return { requestsPerSecond: Math.round(sorted.length / seconds), p50: at(0.5), p99: at(0.99), statusCodes, errors: 0 };
}
