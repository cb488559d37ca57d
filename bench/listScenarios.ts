// The list's scenarios on the large table (issue 14): sorted pages under load beside the unsorted
// page 1, batches of 100 codes uncached, and the CSV export's speed and memory.
import { readFile } from 'node:fs/promises';
import { Client } from 'pg';
import { decodeKeysetCursor, encodeKeysetCursor } from '../services/api/src/http/cursors';
import type { LoadResult } from './load';
import { oneClientResult } from './oneClient';

export interface ScenarioRow {
  scenario: string;
  result: LoadResult;
  target?: string;
  note?: string;
}

type Load = { url: string; headers: Record<string, string> };

export interface ListBench {
  /** The collection's URL without its trailing slash. */
  base: string;
  auth: string;
  dbUrl: string;
  apiPid: number | undefined;
  quick: boolean;
  /** Loads the scenarios in turns with each other and their ceilings, records their rows (not a companion's: record false) and returns all. */
  measureTogether: (turns: { scenario: string; load: Load; extra?: { target?: string }; record?: boolean }[]) => Promise<ScenarioRow[]>;
  size: string;
  log: (message: string) => void;
}

/** Runs the scenarios; the loaded ones are recorded by `measure`, the others are returned. */
export async function listScenarios(bench: ListBench): Promise<ScenarioRow[]> {
  await sortedPages(bench);
  return [await codeBatches(bench), await csvExport(bench)];
}

/**
 * sort=procedure's page 1 and a cursor 90% deep into that order, against the unsorted page 1
 * measured in turns with them (unsorted, page 1, its ceiling, deep, its ceiling, unsorted, ...):
 * taken minutes apart, the deep cursor's ratio was 0.72, 0.98 and 1.02 in three runs of one build.
 */
async function sortedPages(bench: ListBench): Promise<void> {
  const headers = { authorization: bench.auth };
  const { cursor, depth } = await deepCursor(bench);
  const loads = {
    unsorted: { url: `${bench.base}/`, headers },
    first: { url: `${bench.base}/?sort=procedure`, headers },
    deep: { url: `${bench.base}/?sort=procedure&cursor=${cursor}`, headers },
  };
  const target = '>= 0.8 of the unsorted page 1';
  const [unsorted, first, deep] = await bench.measureTogether([
    { scenario: `${bench.size} rows: the unsorted page 1, in turns with the sorted pages`, load: loads.unsorted, record: false },
    { scenario: `${bench.size} rows: sort=procedure, page 1`, load: loads.first, extra: { target } },
    { scenario: `${bench.size} rows: sort=procedure, a cursor ${depth.toLocaleString('en-US')} rows deep`, load: loads.deep, extra: { target } },
  ]);
  const rate = unsorted!.result.requestsPerSecond;
  for (const row of [first!, deep!]) row.note = `${(row.result.requestsPerSecond / rate).toFixed(2)} of the unsorted page 1 (${rate} req/s, in turns)`;
}

/** A cursor 90% of the way into sort=procedure: the digest from the API's own next link, the row from the table. */
async function deepCursor(bench: ListBench): Promise<{ cursor: string; depth: number }> {
  const page = (await (await fetch(`${bench.base}/?sort=procedure&per_page=1&cursor=`, { headers: { authorization: bench.auth } })).json()) as { meta: { next: string } };
  const digest = decodeKeysetCursor(new URL(page.meta.next).searchParams.get('cursor') ?? '')?.digest;
  if (!digest) throw new Error(`no keyset cursor in ${page.meta.next}`);
  return withClient(bench.dbUrl, async (client) => {
    const total = Number((await client.query('select count(*) from starter_pxcodes')).rows[0].count);
    const depth = Math.floor(total * 0.9);
    const row = (await client.query('select id, procedure from starter_pxcodes order by procedure, id offset $1 limit 1', [depth - 1])).rows[0];
    return { cursor: encodeKeysetCursor(digest, { values: [row.procedure], id: Number(row.id) }), depth };
  });
}

/** pxcode= with 100 codes, a different batch each time, one client: none comes from a cache. */
async function codeBatches(bench: ListBench): Promise<ScenarioRow> {
  const count = bench.quick ? 10 : 40;
  bench.log(`${bench.size} rows: ${count} batches of 100 codes, one client`);
  const codes: string[] = await withClient(bench.dbUrl, async (client) =>
    (await client.query('select pxcode from starter_pxcodes order by random() limit $1', [count * 100])).rows.map((row) => row.pxcode),
  );
  const timings: number[] = [];
  const statusCodes: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    const response = await fetch(`${bench.base}/?pxcode=${codes.slice(i * 100, i * 100 + 100).join(',')}`, { headers: { authorization: bench.auth } });
    await response.arrayBuffer();
    timings.push(Number(process.hrtime.bigint() - started) / 1e6);
    statusCodes[response.status] = (statusCodes[response.status] ?? 0) + 1;
  }
  const result = oneClientResult(timings, statusCodes);
  return {
    scenario: `${bench.size} rows: pxcode= with 100 codes, ${count} different batches, uncached, one client`,
    result,
    target: 'p50 < 10 ms',
    note: `p50 ${result.p50} ms`,
  };
}

/** Every row as CSV, read as fast as the client can; the API's RSS sampled while it streams. */
async function csvExport(bench: ListBench): Promise<ScenarioRow> {
  bench.log(`${bench.size} rows: the CSV export`);
  const before = await rssMb(bench.apiPid);
  let peak = before;
  const sampler = setInterval(() => void rssMb(bench.apiPid).then((mb) => (peak = Math.max(peak, mb))), 20);
  const started = process.hrtime.bigint();
  let lines = 0;
  let status = 0;
  try {
    const response = await fetch(`${bench.base}/`, { headers: { authorization: bench.auth, accept: 'text/csv' } });
    status = response.status;
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) lines += newlines(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  } finally {
    clearInterval(sampler);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rows = lines - 1; // the header
  const rowsPerSecond = Math.round(rows / seconds);
  return {
    scenario: `${bench.size} rows: CSV export of all ${rows.toLocaleString('en-US')} rows, one client`,
    result: { requestsPerSecond: Number((1 / seconds).toFixed(2)), p50: Math.round(seconds * 1000), p99: Math.round(seconds * 1000), statusCodes: { [status]: 1 }, errors: 0 },
    target: '>= 300k rows/s; API RSS growth < 50 MB',
    note: `${rowsPerSecond.toLocaleString('en-US')} rows/s; RSS ${before} -> peak ${peak} MB (+${peak - before} MB)`,
  };
}

function newlines(chunk: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) count++;
  return count;
}

async function rssMb(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024);
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
