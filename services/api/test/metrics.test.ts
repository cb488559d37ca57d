import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LoginThrottle } from '../src/auth/loginThrottle';
import { loadConfig, rateLimit } from '../src/config';
import { memoryLimiters } from '../src/limits/limiters';
import { connectRedis } from '../src/limits/redis';
import { createLogger } from '../src/logger';
import { watchDependencies } from '../src/metrics/gauges';
import { createMetrics, type Metrics } from '../src/metrics/registry';
import { startMetricsServer, type MetricsServer } from '../src/metrics/server';
import type { AppDeps } from '../src/app';
import { recreateSchema } from '../src/db/database';
import { importFile } from '../src/pxcodes/importer';
import { basicAuthorization, buildTestApp, createTestDatabase, freePort, portOf, rawHttp, sampleDataFixture, testRedisUrl, user, userAuth, waitUntil } from './helpers';
import { samples, sampleValue, seriesOf } from './metricsText';
import { notTheApi } from './openapi';

const sample = sampleDataFixture();
const collection = '/api/v1.0/pxcodes';
const item = '/api/v1.0/pxcodes/:pxcode';
const silent = createLogger('silent');
const servers: MetricsServer[] = [];
afterAll(() => Promise.all(servers.map((server) => server.close())));

interface Instrumented {
  /** The API, listening. */
  api: string;
  /** The metrics' text, as GET /metrics on their own port answers it. */
  scrape(): Promise<string>;
  metrics: Metrics;
}

/** The API with metrics on, each on a loopback port of its own. */
async function instrumented(overrides: Partial<AppDeps> = {}): Promise<Instrumented> {
  const metrics = createMetrics();
  watchDependencies(metrics.registry, sample.db, undefined);
  const server = await sample.listening(buildTestApp(sample.db, { metrics, ...overrides }).app);
  const metricsServer = await startMetricsServer(metrics.registry, '127.0.0.1', 0, silent);
  servers.push(metricsServer);
  notTheApi(metricsServer.port); // its answers are Prometheus's, not the document's
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${metricsServer.port}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  return { api: `http://127.0.0.1:${portOf(server)}`, scrape, metrics };
}

const auth = { authorization: basicAuthorization(...userAuth) };
const count = (method: string, route: string, status: number) => ['http_request_duration_seconds_count', { method, route, status: String(status) }] as const;

/** Waits until the series has counted `expected` (an answer is counted as it finishes sending). */
async function expectCount(app: Instrumented, [name, labels]: ReturnType<typeof count>, expected: number): Promise<void> {
  let seen: number | undefined;
  await waitUntil(async () => (seen = sampleValue(await app.scrape(), name, labels)) === expected).catch(() => {
    throw new Error(`${name}${JSON.stringify(labels)} is ${seen}, expected ${expected}`);
  });
}

describe('http_request_duration_seconds: every answer, by method, route template and status', () => {
  test('when an item is read twice, then both count under the item template, the first a cache miss (Express), the second a hit (the front)', async () => {
    const app = await instrumented();
    for (let i = 0; i < 2; i++) expect((await fetch(`${app.api}${collection}/039`, { headers: auth })).status).toBe(200);
    await expectCount(app, count('GET', item, 200), 2);
    const text = await app.scrape();
    expect(sampleValue(text, 'starter_answer_cache_misses_total')).toBe(1);
    expect(sampleValue(text, 'starter_answer_cache_hits_total')).toBe(1);
  });

  test('when the list, a missing code, an unknown path, a probe and a stranger are answered, then each has its template and status', async () => {
    const app = await instrumented();
    expect((await fetch(`${app.api}${collection}/?per_page=5`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${app.api}${collection}/NOPE`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${app.api}/no/such/path`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${app.api}/health`)).status).toBe(200);
    expect((await fetch(`${app.api}${collection}/`)).status).toBe(401);
    expect((await fetch(`${app.api}${collection}/039`, { method: 'PATCH', headers: auth })).status).toBe(400);
    await expectCount(app, count('GET', collection, 200), 1);
    await expectCount(app, count('GET', item, 404), 1);
    await expectCount(app, count('GET', 'unmatched', 404), 1);
    await expectCount(app, count('GET', '/health', 200), 1);
    await expectCount(app, count('GET', collection, 401), 1);
    await expectCount(app, count('PATCH', item, 400), 1);
  });

  test('when the rate limit refuses at the door, then the 429 counts under its route and as reason rate_limit', async () => {
    const app = await instrumented({ rateLimit: { setting: rateLimit.parse('2/1m'), limiters: memoryLimiters } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${app.api}${collection}/039`, { headers: auth })).status);
    expect(statuses).toEqual([200, 200, 429]);
    await expectCount(app, count('GET', item, 429), 1);
    const text = await app.scrape();
    expect(sampleValue(text, 'starter_http_too_many_requests_total', { reason: 'rate_limit' })).toBe(1);
    expect(sampleValue(text, 'starter_http_too_many_requests_total', { reason: 'failed_logins' })).toBe(0);
  });

  test('when wrong passwords get the failed-login block, then its 429s count as reason failed_logins', async () => {
    const app = await instrumented({ loginThrottle: new LoginThrottle(1, 1) });
    const wrong = { authorization: basicAuthorization(user.username, 'wrong password') };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${app.api}${collection}/`, { headers: wrong })).status);
    expect(statuses[0]).toBe(401);
    const refused = statuses.filter((status) => status === 429).length;
    expect(refused).toBeGreaterThan(0);
    await expectCount(app, count('GET', collection, 429), refused);
    const text = await app.scrape();
    expect(sampleValue(text, 'starter_http_too_many_requests_total', { reason: 'failed_logins' })).toBe(refused);
    expect(sampleValue(text, 'starter_http_too_many_requests_total', { reason: 'rate_limit' })).toBe(0);
  });

  test('when many distinct codes and paths are asked for, then the series stay as many: no raw path is ever a label', async () => {
    const app = await instrumented();
    const ask = (i: number) => Promise.all([fetch(`${app.api}${collection}/RAW${i}`, { headers: auth }), fetch(`${app.api}/raw/path/${i}?q=${i}`)]);
    await ask(0);
    await expectCount(app, count('GET', 'unmatched', 404), 1);
    const before = seriesOf(await app.scrape(), 'http_request_duration_seconds_count');
    for (let i = 1; i <= 40; i++) await ask(i);
    await expectCount(app, count('GET', 'unmatched', 404), 41);
    const text = await app.scrape();
    expect(seriesOf(text, 'http_request_duration_seconds_count')).toEqual(before);
    expect(sampleValue(text, ...count('GET', item, 404))).toBe(41);
    expect(text).not.toMatch(/RAW\d|raw\/path/);
  });

  test('when an absolute-form or odd request line comes, then it is labelled by its path or unmatched', async () => {
    const app = await instrumented();
    const port = new URL(app.api).port;
    expect(await rawHttp(Number(port), 'GET http://x/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    expect(await rawHttp(Number(port), 'GET http://x/a/../health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 404 /);
    await expectCount(app, count('GET', '/health', 200), 1);
    await expectCount(app, count('GET', 'unmatched', 404), 1);
  });
});

describe('the gauges, read on each scrape', () => {
  test('when scraped, then the pool gauges, the collection size and the default process metrics are there; no Redis gauge without Redis', async () => {
    const app = await instrumented();
    const text = await app.scrape();
    for (const name of ['starter_db_pool_connections_in_use', 'starter_db_pool_connections_idle', 'starter_db_pool_acquires_waiting']) {
      expect([name, sampleValue(text, name)]).toEqual([name, expect.any(Number)]);
    }
    expect(sampleValue(text, 'starter_db_pool_connections_max')).toBe(5);
    expect(sampleValue(text, 'starter_pxcodes_rows')).toBe(100);
    expect(sampleValue(text, 'process_cpu_seconds_total')).toEqual(expect.any(Number));
    expect(sampleValue(text, 'nodejs_heap_size_used_bytes')).toEqual(expect.any(Number));
    expect(text).not.toContain('starter_redis_up');
  });

  test('when rows are added, then the collection size follows (as a CLI import shows)', async () => {
    const app = await instrumented();
    await sample.db('starter_pxcodes').insert([{ pxcode: 'MET1', procedure: 'X' }, { pxcode: 'MET2', procedure: 'X' }]);
    try {
      expect(sampleValue(await app.scrape(), 'starter_pxcodes_rows')).toBe(102);
    } finally {
      await sample.db('starter_pxcodes').whereIn('pxcode', ['MET1', 'MET2']).delete();
    }
  });

  test('when imports commit, then the import counters count them and their rows by format; a failed one counts nothing; when the table is made again, they count on and never go down', async () => {
    const own = await createTestDatabase();
    const dir = mkdtempSync(path.join(tmpdir(), 'starter-metrics-imports-'));
    const file = (name: string, text: string) => (writeFileSync(path.join(dir, name), text), path.join(dir, name));
    try {
      const metrics = createMetrics();
      watchDependencies(metrics.registry, own.db, undefined);
      const counts = async () => {
        const text = await metrics.registry.metrics();
        const of = (name: string, format: string) => sampleValue(text, name, { format }) ?? 0;
        return { csv: [of('starter_imports_total', 'csv'), of('starter_import_rows_total', 'csv')], sql: [of('starter_imports_total', 'sql'), of('starter_import_rows_total', 'sql')] };
      };
      expect(await counts()).toEqual({ csv: [0, 0], sql: [0, 0] });
      await importFile(own.db, file('a.csv', 'pxcode,procedure\nM1,ONE\nM2,TWO\nM3,THREE\n'));
      await importFile(own.db, file('b.sql', `INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('M4','FOUR');\n`));
      await expect(importFile(own.db, file('c.csv', 'pxcode,procedure\nM1,AGAIN\n'))).rejects.toThrow('already exists');
      await importFile(own.db, file('d.csv', 'pxcode,procedure\nM1,SKIPPED\nM5,FIVE\n'), { onConflict: 'skip' });
      expect(await counts()).toEqual({ csv: [2, 4], sql: [1, 1] });
      await recreateSchema(own.db); // as resetdb: the tables made again, ids start over, a new epoch
      expect(await counts()).toEqual({ csv: [2, 4], sql: [1, 1] });
      await importFile(own.db, file('e.csv', 'pxcode,procedure\nM6,SIX\n'));
      expect(await counts()).toEqual({ csv: [3, 5], sql: [1, 1] });
    } finally {
      await own.drop();
    }
  });

  test('when Redis is connected, then starter_redis_up is 1; when it is unreachable, 0', async () => {
    const reachable = connectRedis(testRedisUrl(), 250, silent);
    const unreachable = connectRedis(`redis://127.0.0.1:${await freePort()}`, 250, silent);
    try {
      const up = createMetrics();
      watchDependencies(up.registry, sample.db, reachable);
      await waitUntil(async () => sampleValue(await up.registry.metrics(), 'starter_redis_up') === 1);
      const down = createMetrics();
      watchDependencies(down.registry, sample.db, unreachable);
      expect(sampleValue(await down.registry.metrics(), 'starter_redis_up')).toBe(0);
    } finally {
      await reachable.close();
      await unreachable.close();
    }
  });
});

describe('METRICS_PORT', () => {
  test('when it is unset, 0, or the same as PORT, then metrics are on 9464, off, or refused naming both', () => {
    expect(loadConfig({}).METRICS_PORT).toBe(9464);
    expect(loadConfig({ METRICS_PORT: '0', PORT: '0' }).METRICS_PORT).toBe(0);
    expect(() => loadConfig({ METRICS_PORT: '5000' })).toThrow('invalid configuration: METRICS_PORT: 5000 is PORT too: set another port, or 0 to turn metrics off');
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT: /);
  });
});

describe('the metrics server', () => {
  test('when asked anything but GET /metrics, then 404 or 405 in the API error shape', async () => {
    const { metrics } = await instrumented();
    const server = await startMetricsServer(metrics.registry, '127.0.0.1', 0, silent);
    servers.push(server);
    notTheApi(server.port);
    const base = `http://127.0.0.1:${server.port}`;
    const other = await fetch(`${base}/api/v1.0/pxcodes/`);
    expect([other.status, await other.json()]).toEqual([404, { status: 404, error: 'Not Found', message: expect.stringContaining('GET /metrics') }]);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect([post.status, post.headers.get('allow'), ((await post.json()) as { status: number }).status]).toEqual([405, 'GET, HEAD', 405]);
    const text = await fetch(`${base}/metrics?x=1`);
    expect([text.status, text.headers.get('content-type')]).toEqual([200, expect.stringMatching(/^text\/plain; version=0\.0\.4/)]);
  });

  test('when its port is taken, then starting it fails naming METRICS_PORT and what to do', async () => {
    const { metrics } = await instrumented();
    const taken = await startMetricsServer(metrics.registry, '127.0.0.1', 0, silent);
    servers.push(taken);
    await expect(startMetricsServer(metrics.registry, '127.0.0.1', taken.port, silent)).rejects.toThrow(
      `METRICS_PORT ${taken.port} on 127.0.0.1 is in use: set METRICS_PORT to a free port, or to 0 to turn metrics off`,
    );
  });
});

describe('promtool', () => {
  test('when the real output (after answers of every kind) is checked by promtool check metrics, then it passes', async () => {
    const app = await instrumented({ rateLimit: { setting: rateLimit.parse('100/1m'), limiters: memoryLimiters } });
    await fetch(`${app.api}${collection}/039`, { headers: auth });
    await fetch(`${app.api}${collection}/039`, { headers: auth });
    await fetch(`${app.api}/nowhere`);
    await expectCount(app, count('GET', 'unmatched', 404), 1);
    const text = await app.scrape();
    expect(samples(text).length).toBeGreaterThan(50);
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if ((checked.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      throw new Error("promtool is not installed: install Debian's prometheus package (apt-get install prometheus); CI's .ci/run does");
    }
    expect({ status: checked.status, output: `${checked.stdout}${checked.stderr}` }).toEqual({ status: 0, output: '' });
  });
});
