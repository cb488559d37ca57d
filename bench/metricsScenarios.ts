// The cost of metrics: the 100-row list on two API processes over the same database, one with
// METRICS_PORT set and one with 0, measured in turns (with, without, without, with, ...) so that
// a machine growing busier weighs on both alike.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { createMetrics } from '../services/api/src/metrics/registry';
import { observeRequests } from '../services/api/src/metrics/requests';
import type { LoadResult, LoadScenario } from './load';

export interface MetricsBench {
  cli: string;
  /** The API's environment, without PORT and METRICS_PORT. */
  env: NodeJS.ProcessEnv;
  authorization: string;
  runLoad: (scenario: LoadScenario) => Promise<LoadResult>;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Runs on each API. */
  runs: number;
}

export interface MetricsRow {
  scenario: string;
  result: LoadResult;
  target?: string;
  note?: string;
}

interface Api {
  child: ChildProcess;
  port: number;
}

export async function metricsScenarios(bench: MetricsBench): Promise<MetricsRow[]> {
  process.stderr.write('bench: the list with and without metrics (two more API processes)\n');
  const withMetrics = await startApi(bench, await freePort());
  const without = await startApi(bench, 0).catch(async (error: unknown) => {
    await stop(withMetrics);
    throw error;
  });
  try {
    const scrape = await fetch(`http://127.0.0.1:${withMetrics.metricsPort}/metrics`);
    if (!scrape.ok) throw new Error(`the API with metrics answered GET /metrics ${scrape.status}`);
    const results = { with: [] as LoadResult[], without: [] as LoadResult[] };
    for (let run = 0; run < bench.runs * 2; run++) {
      const first = run % 2 === 0 ? 'with' : 'without';
      for (const side of [first, first === 'with' ? 'without' : 'with'] as const) {
        const api = side === 'with' ? withMetrics : without;
        results[side].push(await bench.runLoad(listLoad(bench, api.port)));
      }
    }
    return rows(mean(results.with), mean(results.without), observationMicroseconds());
  } finally {
    await Promise.all([stop(withMetrics), stop(without)]);
  }
}

function rows(withMetrics: LoadResult, without: LoadResult, microseconds: number): MetricsRow[] {
  const slower = 1 - withMetrics.requestsPerSecond / without.requestsPerSecond;
  // At `rate` requests/s on all cores, one request costs (cores / rate) seconds of CPU.
  const share = microseconds / ((cpus().length / without.requestsPerSecond) * 1e6);
  return [
    { scenario: 'list, page 1 of 100, metrics off (METRICS_PORT=0)', result: without },
    {
      scenario: 'list, page 1 of 100, metrics on',
      result: withMetrics,
      target: '<= 3% slower than metrics off',
      note:
        `${Math.abs(slower * 100).toFixed(1)}% ${slower >= 0 ? 'slower' : 'faster'} (runs taken in turns); ` +
        `the observation alone: ${microseconds.toFixed(2)} µs, ${(share * 100).toFixed(2)}% of a list request`,
    },
  ];
}

/** The request path's whole cost of metrics, timed alone: the observer and its 'finish' handler. */
function observationMicroseconds(): number {
  const observe = observeRequests(createMetrics());
  const req = { method: 'GET', url: '/api/v1.0/pxcodes/?page=1' } as IncomingMessage;
  const n = 100_000;
  const time = () => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const res = Object.assign(new EventEmitter(), { statusCode: 200, hasHeader: () => false, getHeader: () => 'application/json; charset=utf-8' }) as unknown as ServerResponse;
      observe(req, res, { cached: false });
      res.emit('finish');
    }
    return Number(process.hrtime.bigint() - started) / 1e3 / n;
  };
  time(); // warm-up
  return time();
}

const listLoad = (bench: MetricsBench, port: number): LoadScenario => ({
  url: `http://127.0.0.1:${port}/api/v1.0/pxcodes/`,
  headers: { authorization: bench.authorization },
  connections: bench.connections,
  seconds: bench.seconds,
  warmupSeconds: bench.warmupSeconds,
});

function mean(results: LoadResult[]): LoadResult {
  const average = (pick: (r: LoadResult) => number) => results.reduce((sum, r) => sum + pick(r), 0) / results.length;
  const statusCodes: Record<string, number> = {};
  for (const result of results) for (const [code, n] of Object.entries(result.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  return {
    requestsPerSecond: Math.round(average((r) => r.requestsPerSecond)),
    p50: Number(average((r) => r.p50).toFixed(2)),
    p99: Number(average((r) => r.p99).toFixed(2)),
    statusCodes,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

async function startApi(bench: MetricsBench, metricsPort: number): Promise<Api & { metricsPort: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, [bench.cli, 'serve'], {
    env: { ...bench.env, PORT: String(port), HOST: '127.0.0.1', METRICS_PORT: String(metricsPort), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  while (!(await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`the API with METRICS_PORT=${metricsPort} did not become ready (exit code ${child.exitCode})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, port, metricsPort };
}

async function stop(api: Api): Promise<void> {
  if (api.child.exitCode !== null) return;
  api.child.kill('SIGTERM');
  await once(api.child, 'exit');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}
