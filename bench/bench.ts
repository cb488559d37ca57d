// npm run bench [-- --quick]: the API under load beside a ceiling, on a 100-row and a large table,
// and the CLI's imports. Prints a Markdown table and writes the figures to bench/results.json.
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, openSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Client } from 'pg';
import { CredentialCache } from '../services/api/src/auth/credentialCache';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../services/api/src/db/embedded';
import { encodeCursor } from '../services/api/src/http/cursors';
import { createLogger } from '../services/api/src/logger';
import { listScenarios } from './listScenarios';
import type { LoadResult, LoadScenario } from './load';
import { metricsScenarios } from './metricsScenarios';
import { oneClientResult } from './oneClient';
import { searchScenarios } from './search';
import { insertRealisticRows, sampleVocabulary } from './vocabulary';

const quick = process.argv.includes('--quick');
const settings = quick
  ? { seconds: 2, warmupSeconds: 1, runs: 1, bigRows: 20_000, importRows: 20_000 }
  : { seconds: 10, warmupSeconds: 3, runs: 2, bigRows: 1_000_000, importRows: 1_000_000 };
const connections = 16;
const root = path.resolve(__dirname, '../../..');
const cli = path.join(root, 'services/api/dist/cli.js');
const user = { name: 'bench', password: 'bench-password' };
const basic = (name: string, password: string) => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
const auth = basic(user.name, user.password);

type Load = Omit<LoadScenario, 'connections' | 'seconds' | 'warmupSeconds'>;

interface Row {
  scenario: string;
  result: LoadResult;
  ceiling?: LoadResult;
  target?: string;
  note?: string;
}

const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'starter-bench-'));
  await chmod(work, 0o755); // the embedded cluster runs as user postgres when we are root
  let embedded: EmbeddedDatabase | undefined;
  let api: ChildProcess | undefined;
  try {
    let serverUrl = process.env.DATABASE_URL;
    if (!serverUrl) {
      log('starting an embedded PostgreSQL');
      embedded = await startEmbeddedPostgres(path.join(work, 'pg'), await freePort(), createLogger('silent'));
      serverUrl = embedded.url;
    }
    const dbUrl = await freshDatabase(serverUrl, 'starter_bench');

    const port = await freePort();
    log(`starting the API (compiled build, default logging) on port ${port}`);
    api = spawn(process.execPath, [cli, 'serve'], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: dbUrl,
        PORT: String(port),
        HOST: '127.0.0.1',
        ADMIN_USERNAME: user.name,
        ADMIN_PASSWORD: user.password,
        TOKEN_SECRET: randomBytes(48).toString('base64'),
        METRICS_PORT: String(await freePort()), // on, as by default, where 9464 may be taken
      },
      stdio: ['ignore', openSync(path.join(work, 'api.log'), 'w'), 'inherit'],
    });
    const base = `http://127.0.0.1:${port}/api/v1.0/pxcodes`;
    await waitForReady(`http://127.0.0.1:${port}/ready`);

    const rows: Row[] = [];
    /** Loads the turns' scenarios in turns (inTurns) and records their rows; companions only answer. */
    const measureTogether = async (turns: Turn[]) => {
      const measured = await inTurns(turns, work);
      rows.push(...measured.filter((_, i) => turns[i]!.record !== false));
      return measured;
    };
    const measure = async (scenario: string, load: Load, extra: Partial<Row> = {}) => (await measureTogether([{ scenario, load, extra }]))[0]!;

    const listEtag = (await fetch(`${base}/`, { headers: { authorization: auth } })).headers.get('etag') ?? '';
    const list = await measure('list, page 1 of 100', { url: `${base}/`, headers: { authorization: auth } }, { target: '>= 0.20 of ceiling' });
    const token = ((await (await fetch(`http://127.0.0.1:${port}/auth/request-token`, { headers: { authorization: auth } })).json()) as { token: string }).token;
    const withToken = await measure('list with a token (Bearer)', { url: `${base}/`, headers: { authorization: `Bearer ${token}` } }, { target: 'no slower than basic auth' });
    withToken.note = `${(withToken.result.requestsPerSecond / list.result.requestsPerSecond).toFixed(2)} of the basic-auth list rate`;
    await measure('one item', { url: `${base}/039`, headers: { authorization: auth } }, { target: '>= 0.25 of ceiling' });
    await measure('list, If-None-Match (304)', { url: `${base}/`, headers: { authorization: auth, 'if-none-match': listEtag } }, { target: '>= 0.30 of ceiling' });
    await measure('no credentials (401)', { url: `${base}/` });
    await measure('wrong password (401/429)', { url: `${base}/`, headers: { authorization: basic(user.name, 'wrong') } });

    log('list while 16 more connections send wrong passwords');
    const flood = runLoad({ url: `${base}/`, headers: { authorization: basic(user.name, 'wrong') }, connections, seconds: settings.seconds + settings.warmupSeconds, warmupSeconds: 0 });
    const underFlood = await runLoad({ url: `${base}/`, headers: { authorization: auth }, connections, seconds: settings.seconds, warmupSeconds: settings.warmupSeconds });
    await flood;
    rows.push({
      scenario: 'list during a wrong-password flood',
      result: underFlood,
      target: '>= 0.5 of the list rate',
      note: `${(underFlood.requestsPerSecond / list.result.requestsPerSecond).toFixed(2)} of the list rate`,
    });

    const apiEnv = { PATH: process.env.PATH, DATABASE_URL: dbUrl, ADMIN_USERNAME: user.name, ADMIN_PASSWORD: user.password, TOKEN_SECRET: randomBytes(48).toString('base64') };
    rows.push(...(await metricsScenarios({ cli, env: apiEnv, authorization: auth, runLoad, connections, ...settings })));

    await measure('create codes (POST)', { url: `${base}/`, method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, uniqueCodePrefix: 'W' });

    log(`loading ${settings.bigRows.toLocaleString('en-US')} rows`);
    await withClient(dbUrl, (client) => insertRealisticRows(client, settings.bigRows, sampleVocabulary()));
    // What autovacuum would do over the next minutes, done now: it would otherwise run during the
    // scenarios and imports that follow, on the same two cores, and blur their figures.
    await withClient(dbUrl, (client) => client.query('vacuum analyze starter_pxcodes'));
    const total = await withClient(dbUrl, async (client) => Number((await client.query('select count(*) from starter_pxcodes')).rows[0].count));
    const pages = Math.ceil(total / 100);
    const deepPage = Math.ceil(pages * 0.95);
    const deepCursorId = await withClient(dbUrl, async (client) =>
      Number((await client.query('select id from starter_pxcodes order by id offset $1 limit 1', [(deepPage - 1) * 100 - 1])).rows[0].id),
    );
    const headers = { authorization: auth };
    const [bigFirst, deep, cursor] = await measureTogether([
      { scenario: `${label(total)} rows: page 1`, load: { url: `${base}/`, headers }, extra: { target: '>= 0.8 of the 100-row list' } },
      { scenario: `${label(total)} rows: page ${deepPage} of ${pages} by number`, load: { url: `${base}/?page=${deepPage}`, headers }, extra: { target: 'p50 < 150 ms' } },
      { scenario: `${label(total)} rows: the same depth by cursor`, load: { url: `${base}/?cursor=${encodeCursor(deepCursorId)}`, headers }, extra: { target: '>= 0.8 of page 1' } },
    ]);
    bigFirst!.note = `${(bigFirst!.result.requestsPerSecond / list.result.requestsPerSecond).toFixed(2)} of the 100-row list`;
    cursor!.note = `${(cursor!.result.requestsPerSecond / bigFirst!.result.requestsPerSecond).toFixed(2)} of page 1 (in turns)`;
    deep!.note = `p50 ${deep!.result.p50} ms (a repeated page comes from the page cache)`;
    rows.push(await uncachedDeepPages(base, pages, label(total)));
    rows.push(...(await searchScenarios(base, auth, total, quick)));
    rows.push(...(await listScenarios({ base, auth, dbUrl, apiPid: api.pid, quick, measureTogether, size: label(total), log })));

    const apiRss = await rssOf(api.pid);
    const imports = await importRuns(serverUrl, work);
    const authCost = authCheckCost(list.result.requestsPerSecond, token);

    const report = { quick, machine: machine(), settings, connections, rows, imports, apiRssMb: apiRss, authCost };
    await writeFile(path.join(root, 'bench/results.json'), `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(markdown(report));
  } finally {
    api?.kill('SIGTERM');
    if (api) await once(api, 'exit');
    await embedded?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** Pages in the last tenth, each asked for once by one client, so none comes from the page cache. */
async function uncachedDeepPages(base: string, pages: number, size: string): Promise<Row> {
  log(`${size} rows: distinct pages in the last tenth, one client`);
  const timings: number[] = [];
  const statusCodes: Record<string, number> = {};
  const count = quick ? 10 : 40;
  for (let i = 0; i < count; i++) {
    const page = pages - Math.floor((pages / 10) * (i / count));
    const started = process.hrtime.bigint();
    const response = await fetch(`${base}/?page=${page}`, { headers: { authorization: auth } });
    await response.arrayBuffer();
    timings.push(Number(process.hrtime.bigint() - started) / 1e6);
    statusCodes[response.status] = (statusCodes[response.status] ?? 0) + 1;
  }
  const result = oneClientResult(timings, statusCodes);
  return {
    scenario: `${size} rows: ${count} different pages in the last tenth, uncached, one client`,
    result,
    target: 'p50 < 150 ms',
    note: `p50 ${result.p50} ms`,
  };
}

const loadOnce = (load: Load) => runLoad({ ...load, connections, seconds: settings.seconds, warmupSeconds: settings.warmupSeconds });

/** A scenario loaded in turns with others; `record: false`: a companion, loaded only to compare with. */
interface Turn {
  scenario: string;
  load: Load;
  extra?: Partial<Row>;
  record?: boolean;
}

/**
 * Loads each turn's scenario and its ceiling in turns (a, a's ceiling, b, b's ceiling, a, ...), so
 * a machine busier for a while weighs on all alike. A ceiling records the API's answer after the
 * API's first run, as a client then gets it (the wrong-password scenario's 429).
 */
async function inTurns(turns: Turn[], work: string): Promise<Row[]> {
  const ceilings: ({ url: string; stop: () => Promise<void> } | undefined)[] = [];
  const api = turns.map((): LoadResult[] => []);
  const bare = turns.map((): LoadResult[] => []);
  try {
    for (let run = 0; run < settings.runs; run++) {
      for (const [i, turn] of turns.entries()) {
        if (run === 0) log(turn.scenario);
        api[i]!.push(await loadOnce(turn.load));
        if (turn.load.method === 'POST' || turn.record === false) continue;
        ceilings[i] ??= await startCeiling(turn.load, work);
        bare[i]!.push(await loadOnce({ ...turn.load, url: ceilings[i]!.url }));
      }
    }
  } finally {
    for (const ceiling of ceilings) await ceiling?.stop();
  }
  return turns.map((turn, i) => ({ scenario: turn.scenario, result: meanOf(api[i]!), ...(bare[i]!.length > 0 ? { ceiling: meanOf(bare[i]!) } : {}), ...turn.extra }));
}

/** Several runs of one scenario as one: mean rate and percentiles, status codes and errors summed. */
function meanOf(results: LoadResult[]): LoadResult {
  const mean = (pick: (r: LoadResult) => number) => results.reduce((sum, r) => sum + pick(r), 0) / results.length;
  const statusCodes: Record<string, number> = {};
  for (const result of results) for (const [code, n] of Object.entries(result.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  return {
    requestsPerSecond: Math.round(mean((r) => r.requestsPerSecond)),
    p50: Number(mean((r) => r.p50).toFixed(2)),
    p99: Number(mean((r) => r.p99).toFixed(2)),
    statusCodes,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

async function runLoad(scenario: LoadScenario): Promise<LoadResult> {
  const child = spawn(process.execPath, [path.join(__dirname, 'load.js'), JSON.stringify(scenario)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`the load generator failed for ${scenario.url}`);
  return JSON.parse(output) as LoadResult;
}

/** Records the API's exact answer and serves it from a bare node:http server: the URL to load it at. */
async function startCeiling(load: Load, work: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const response = await fetch(load.url, { headers: load.headers ?? {} });
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'etag', 'link', 'www-authenticate', 'x-request-id']) {
    const value = response.headers.get(name);
    if (value) headers[name] = value;
  }
  const file = path.join(work, 'ceiling.json');
  await writeFile(file, JSON.stringify({ status: response.status, headers, body: Buffer.from(await response.arrayBuffer()).toString('base64') }));
  const server = spawn(process.execPath, [path.join(__dirname, 'ceiling.js'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = async () => {
    server.kill('SIGTERM');
    if (server.exitCode === null && server.signalCode === null) await once(server, 'exit');
  };
  try {
    const [chunk] = (await once(server.stdout!, 'data')) as [Buffer];
    const url = new URL(load.url);
    return { url: `http://127.0.0.1:${chunk.toString().trim()}${url.pathname}${url.search}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface ImportFigure {
  format: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
  target: string;
}

async function importRuns(serverUrl: string, work: string): Promise<ImportFigure[]> {
  const csv = path.join(work, 'codes.csv');
  const sql = path.join(work, 'codes.sql');
  const more = path.join(work, 'more.csv');
  const moreRows = Math.floor(settings.importRows / 10);
  log(`writing ${settings.importRows.toLocaleString('en-US')}-row CSV and INSERT files`);
  await writeLines(csv, 'pxcode,procedure', settings.importRows, (i) => `I${i.toString(36)},"IMPORTED PROCEDURE, NUMBER ${i}"`);
  await writeLines(sql, undefined, settings.importRows, (i) => `INSERT INTO "starter_pxcodes" ("pxcode","procedure") VALUES ('I${i.toString(36)}','IMPORTED PROCEDURE ''${i}''');`);
  await writeLines(more, 'pxcode,procedure', moreRows, (i) => `J${i.toString(36)},"ADDED PROCEDURE, NUMBER ${i}"`);
  const figures: ImportFigure[] = [];
  const runs = [
    { format: 'CSV into an empty table', file: csv, args: [], target: '>= 40k rows/s' },
    { format: 'CSV into an empty table, --indexes-after', file: csv, args: ['--indexes-after'], target: '>= 55k rows/s' },
    { format: "seed's INSERT format into an empty table", file: sql, args: [], target: '>= 40k rows/s, RSS < 200 MB' },
  ];
  let url = '';
  for (const run of runs) {
    url = await freshDatabase(serverUrl, 'starter_bench_import');
    await runCli(['migrate'], url);
    figures.push(await timedImport(serverUrl, url, { ...run, rows: settings.importRows }));
  }
  // Into the table the last import filled: its indexes are kept row by row, as the API's writes keep them.
  const filled = `CSV into a table of ${settings.importRows.toLocaleString('en-US')} rows`;
  figures.push(await timedImport(serverUrl, url, { format: filled, file: more, args: [], rows: moreRows, target: '(measured, no target)' }));
  return figures;
}

async function timedImport(serverUrl: string, url: string, run: { format: string; file: string; args: string[]; rows: number; target: string }): Promise<ImportFigure> {
  await autovacuumIdle(serverUrl);
  // The pages the earlier scenarios dirtied are written now, not during the import (a role
  // without the right to, on a server of your own, measures with them).
  await withClient(serverUrl, (client) => client.query('checkpoint')).catch((error: Error) => log(`no checkpoint: ${error.message}`));
  log(`import ${run.format}`);
  const started = process.hrtime.bigint();
  const output = await runCli(['import', run.file, ...run.args], url);
  if (output.includes('kept row by row')) throw new Error(`import ${run.format}: the indexes were not built after the rows, so this is not the figure it claims`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = /peak RSS (\d+) MB/.exec(output)?.[1];
  return { format: run.format, rows: run.rows, seconds: Number(seconds.toFixed(2)), rowsPerSecond: Math.round(run.rows / seconds), peakRssMb: Number(rss ?? NaN), target: run.target };
}

/**
 * Waits until no autovacuum worker runs anywhere on the server (they share its cores), so an
 * import is measured alone (with the checkpoint before it). A role that may not see other
 * processes (pg_read_all_stats) cannot tell; it is said so, and the import runs at once.
 */
async function autovacuumIdle(serverUrl: string): Promise<void> {
  const sees = await withClient(serverUrl, async (client) =>
    Boolean((await client.query("select pg_has_role(current_user, 'pg_read_all_stats', 'member') as sees")).rows[0].sees),
  );
  if (!sees) {
    log('cannot see autovacuum workers (the role is not in pg_read_all_stats): not waiting for them');
    return;
  }
  const deadline = Date.now() + 120_000;
  const running = () =>
    withClient(serverUrl, async (client) =>
      Number((await client.query("select count(*) from pg_stat_activity where backend_type = 'autovacuum worker'")).rows[0].count),
    );
  for (let first = true; (await running()) > 0; first = false) {
    if (Date.now() > deadline) {
      log('autovacuum still runs after 120 s: importing anyway');
      return;
    }
    if (first) log('waiting for autovacuum to finish');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function writeLines(file: string, header: string | undefined, rows: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(file);
  if (header) out.write(`${header}\n`);
  for (let i = 1; i <= rows; i++) {
    if (!out.write(`${line(i)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function runCli(args: string[], databaseUrl: string): Promise<string> {
  const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`cli ${args.join(' ')} exited ${code}`);
  return output;
}

interface AuthCost {
  microseconds: number;
  tokenMicroseconds: number;
  shareOfListRequest: number;
}

/**
 * What the warm-cache checks cost, against a list request: a password (an HMAC and a map lookup)
 * and a token (the same, keyed by the token).
 */
function authCheckCost(listRate: number, token: string): AuthCost {
  const cache = new CredentialCache(60_000, 10);
  const holder = { id: 1, username: user.name, tokenVersion: 'v' };
  cache.set(user.name, user.password, holder, cache.generation);
  cache.setToken(token, holder, cache.generation, Date.now() + 3_600_000);
  const n = 200_000;
  const time = (check: () => unknown) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) check();
    return Number(process.hrtime.bigint() - started) / 1e3 / n;
  };
  time(() => cache.get(user.name, user.password)); // warm-up
  const microseconds = time(() => cache.get(user.name, user.password));
  const tokenMicroseconds = time(() => cache.getToken(token));
  // At `listRate` requests/s on all cores, one request costs (cores / rate) seconds of CPU.
  const requestMicroseconds = (cpus().length / listRate) * 1e6;
  return {
    microseconds: Number(microseconds.toFixed(2)),
    tokenMicroseconds: Number(tokenMicroseconds.toFixed(2)),
    shareOfListRequest: Number((Math.max(microseconds, tokenMicroseconds) / requestMicroseconds).toFixed(4)),
  };
}

async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  await withClient(serverUrl, async (client) => {
    await client.query(`drop database if exists ${name} with (force)`);
    await client.query(`create database ${name}`);
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function waitForReady(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the API did not become ready within 60 s');
}

async function rssOf(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = require('node:net').createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const label = (n: number) => (n >= 1_000_000 ? `${(n / 1_000_000).toFixed(n % 1_000_000 ? 1 : 0)}M` : `${Math.round(n / 1000)}k`);

function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

function markdown(report: { machine: string; quick: boolean; rows: Row[]; imports: ImportFigure[]; apiRssMb: number; authCost: AuthCost }): string {
  const lines = [
    `\n### starter benchmark${report.quick ? ' (--quick: short runs, small tables; figures are not comparable)' : ''}`,
    `${report.machine}; ${connections} connections, load generator in its own process on the same cores; ${settings.runs} run(s) of ${settings.seconds} s after ${settings.warmupSeconds} s warm-up each.\n`,
    '| scenario | req/s | p50 ms | p99 ms | ceiling req/s | ratio | target | statuses |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const row of report.rows) {
    const ratio = row.ceiling ? (row.result.requestsPerSecond / row.ceiling.requestsPerSecond).toFixed(2) : '';
    const statuses = Object.entries(row.result.statusCodes).map(([code, n]) => `${code}×${n}`).join(' ');
    lines.push(`| ${row.scenario} | ${row.result.requestsPerSecond} | ${row.result.p50} | ${row.result.p99} | ${row.ceiling?.requestsPerSecond ?? ''} | ${ratio} | ${[row.target, row.note].filter(Boolean).join('; ')} | ${statuses} |`);
  }
  lines.push('', '| import | rows | seconds | rows/s | peak RSS MB | target |', '| --- | ---: | ---: | ---: | ---: | --- |');
  for (const figure of report.imports) lines.push(`| ${figure.format} | ${figure.rows} | ${figure.seconds} | ${figure.rowsPerSecond} | ${figure.peakRssMb} | ${figure.target} |`);
  lines.push('', `API RSS after the run: ${report.apiRssMb} MB (target <= 150 MB). Warm-cache checks: password ${report.authCost.microseconds} µs, token ${report.authCost.tokenMicroseconds} µs; the dearer is ${(report.authCost.shareOfListRequest * 100).toFixed(2)}% of a list request (target <= 2%).`, '');
  return `${lines.join('\n')}\n`;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
