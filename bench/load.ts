// One load run in a process of its own (so the generator does not share the event loop of what
// it measures): reads a scenario as JSON from argv, prints autocannon's summary as JSON.
import autocannon from 'autocannon';

export interface LoadScenario {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** POST bodies with a unique pxcode each: `{"pxcode":"<prefix><n>","procedure":"..."}` */
  uniqueCodePrefix?: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  statusCodes: Record<string, number>;
  errors: number;
}

async function run(scenario: LoadScenario): Promise<LoadResult> {
  let counter = 0;
  const requests = scenario.uniqueCodePrefix
    ? [
        {
          setupRequest: (request: autocannon.Request) => ({
            ...request,
            // The process id keeps the codes of each run apart (at most 10 characters in all).
            body: JSON.stringify({ pxcode: `${scenario.uniqueCodePrefix}${process.pid.toString(36)}${(counter++).toString(36)}`, procedure: 'BENCH' }),
          }),
        },
      ]
    : undefined;
  const options: autocannon.Options = {
    url: scenario.url,
    method: scenario.method ?? 'GET',
    headers: scenario.headers ?? {},
    connections: scenario.connections,
    duration: scenario.seconds,
    ...(requests ? { requests } : {}),
    ...(scenario.warmupSeconds > 0 ? { warmup: { connections: scenario.connections, duration: scenario.warmupSeconds } } : {}),
  };
  const result = await autocannon(options);
  const statusCodes: Record<string, number> = {};
  for (const [code, count] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = count.count ?? 0;
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statusCodes,
    errors: result.errors + result.timeouts,
  };
}

run(JSON.parse(process.argv[2] ?? '{}') as LoadScenario).then(
  (result) => process.stdout.write(JSON.stringify(result)),
  (error: unknown) => {
    process.stderr.write(`load: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
