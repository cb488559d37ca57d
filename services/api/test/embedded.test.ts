import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { createLogger } from '../src/logger';
import { freePort, waitUntil } from './helpers';

const embedded = path.resolve(__dirname, '../dist/db/embedded.js');

/**
 * A cluster started by a child process from dist/ (jest cannot import the package, an ES module), its TMPDIR `tmp`:
 * `ready` resolves once it answers; `stop` stops it and waits for the child to end.
 */
function startInChild(dir: string, port: number, tmp: string) {
  const script = `
    const quiet = { info() {}, debug() {}, error() {}, warn() {} };
    require(${JSON.stringify(embedded)}).startEmbeddedPostgres(${JSON.stringify(dir)}, ${port}, quiet).then((db) => {
      process.stdout.write('ready');
      process.stdin.on('end', () => db.stop().then(() => process.exit(0))).resume();
    }, (error) => (process.stderr.write(String(error)), process.exit(1)));`;
  const env = { ...process.env, TMPDIR: tmp };
  const child = spawn(process.execPath, ['-e', script], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    void exited.then((code) => reject(new Error(`the child ended (${code}): ${errors}`)));
  });
  return { child, exited, ready, stop: () => (child.stdin.end(), exited) };
}
const logger = createLogger('silent');
let parent: string;

beforeAll(async () => {
  parent = await mkdtemp(path.join(tmpdir(), 'starter-embedded-test-'));
  await chmod(parent, 0o755); // the cluster runs as user postgres when we are root
});
afterAll(() => rm(parent, { recursive: true, force: true }));

const initFolders = async (dir: string) => (await readdir(path.dirname(dir))).filter((name) => name.startsWith(`${path.basename(dir)}.init-`));

/** A folder of its own per test, holding the data dir `data` and the child's TMPDIR `tmp`. */
async function testRoot(name: string) {
  const root = path.join(parent, name);
  await mkdir(path.join(root, 'tmp'), { recursive: true });
  await chmod(root, 0o755);
  return { root, dir: path.join(root, 'data'), tmp: path.join(root, 'tmp') };
}

/** Files under `root` holding the password, but for the kept file and the data dir's building and final folders. */
async function strayCopies(root: string, dir: string, password: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    const file = path.join(root, entry.name);
    if (file === dir || file === `${dir}.password` || file.startsWith(`${dir}.init-`)) continue;
    if (entry.isDirectory()) found.push(...(await strayCopies(file, dir, password)));
    else if (entry.isFile() && (await readFile(file, 'utf8').catch(() => '')).includes(password)) found.push(file);
  }
  return found;
}

interface PasswordFile {
  mode: number;
  folderMode: number;
  kept: string;
}

/** The password files in the building folders: each one's mode, its folder's and what it holds. */
async function buildingPasswordFiles(dir: string): Promise<Map<string, PasswordFile>> {
  const seen = new Map<string, PasswordFile>();
  for (const name of await initFolders(dir).catch(() => [])) {
    const file = path.join(path.dirname(dir), name, 'password');
    const [content, info, folder] = await Promise.all([readFile(file, 'utf8'), stat(file), stat(path.dirname(file))]).catch(() => []);
    if (!content || !info || !folder) continue;
    seen.set(file, { mode: info.mode & 0o777, folderMode: folder.mode & 0o777, kept: content.trim() });
  }
  return seen;
}

/** Connects with the kept password and asks `sql`. */
async function ask<T>(dir: string, port: number, sql: string): Promise<T[]> {
  const password = (await readFile(`${dir}.password`, 'utf8')).trim();
  const client = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'starter' });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}
const canEnter = async (dir: string, port: number) => void (await ask(dir, port, 'SELECT 1'));
const sharedBuffers = async (dir: string, port: number) => (await ask<{ shared_buffers: string }>(dir, port, 'SHOW shared_buffers'))[0]!.shared_buffers;

describe('startEmbeddedPostgres', () => {
  test('when a cluster is made, then the kept password is in no file but its own and a private one (600) in the building folder, and the cluster answers to it', async () => {
    const { root, dir, tmp } = await testRoot('made');
    const port = await freePort();
    const cluster = startInChild(dir, port, tmp);
    const [stray, building, packageFiles] = [new Set<string>(), new Map<string, PasswordFile>(), new Set<string>()];
    let done = false;
    void cluster.ready.finally(() => (done = true)).catch(() => undefined);
    await waitUntil(() => existsSync(`${dir}.password`));
    const password = (await readFile(`${dir}.password`, 'utf8')).trim();
    while (!done) {
      for (const file of await strayCopies(root, dir, password)) stray.add(file);
      for (const [file, seen] of await buildingPasswordFiles(dir)) building.set(file, seen);
      for (const name of await readdir(tmp)) if (name.startsWith('pg-password-')) packageFiles.add(name);
      await sleep(5); // without a pause the scan spins, taking a core from the initdb it watches
    }
    try {
      await cluster.ready;
      expect([...stray]).toEqual([]);
      expect([...building.values()]).toEqual([{ mode: 0o600, folderMode: 0o700, kept: password }]); // initdb's --pwfile
      expect(packageFiles.size).toBe(1); // the package's own, a throwaway, in the child's TMPDIR left as it was
      expect((await stat(`${dir}.password`)).mode & 0o777).toBe(0o600);
      expect(existsSync(path.join(dir, 'PG_VERSION'))).toBe(true);
      expect(await initFolders(dir)).toEqual([]);
      expect(await strayCopies(root, dir, password)).toEqual([]);
      await canEnter(dir, port);
      expect(await sharedBuffers(dir, port)).toBe('256MB'); // not PostgreSQL's 128MB: a million codes stay in its buffers
    } finally {
      await cluster.stop();
    }
  }, 120_000);

  test('when the first start is killed while the cluster is made, then the password is left only in its building folder, which the next start removes', async () => {
    const { root, dir, tmp } = await testRoot('interrupted');
    const port = await freePort();
    const first = startInChild(dir, port, tmp);
    first.ready.catch(() => undefined);
    const initdbAtWork = async () =>
      (await initFolders(dir).catch(() => [])).some((name) => existsSync(path.join(path.dirname(dir), name, 'data', 'PG_VERSION')));
    await waitUntil(initdbAtWork, 60_000);
    process.kill(-first.child.pid!, 'SIGKILL'); // the node process and initdb with it
    await first.exited;
    const password = (await readFile(`${dir}.password`, 'utf8')).trim();
    expect(existsSync(dir)).toBe(false);
    expect(await strayCopies(root, dir, password)).toEqual([]);
    expect([...(await buildingPasswordFiles(dir)).values()].map(({ kept }) => kept)).toEqual([password]);

    const cluster = startInChild(dir, port, tmp);
    try {
      await cluster.ready;
      await canEnter(dir, port);
      expect(await initFolders(dir)).toEqual([]); // the abandoned one is gone too
      expect(await strayCopies(root, dir, password)).toEqual([]);
    } finally {
      await cluster.stop();
    }
  }, 120_000);

  test('when two first starts make the cluster at once, then one uses the cluster made first and the other reports it did not start', async () => {
    const { dir, tmp } = await testRoot('concurrent');
    const port = await freePort();
    const starts = [startInChild(dir, port, tmp), startInChild(dir, port, tmp)];
    const outcomes = Promise.allSettled(starts.map((start) => start.ready));
    let [settled, mostBuilding] = [false, 0];
    void outcomes.then(() => (settled = true));
    while (!settled) {
      mostBuilding = Math.max(mostBuilding, (await initFolders(dir).catch(() => [])).length);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const results = await outcomes;
    try {
      expect(mostBuilding).toBe(2); // both made a cluster: one rename lost
      expect(results.map(({ status }) => status).sort()).toEqual(['fulfilled', 'rejected']);
      const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(String(failure?.reason)).toMatch(/did not start on port \d+ \(is another one running\?/);
      expect(await initFolders(dir)).toEqual([]);
      await canEnter(dir, port);
    } finally {
      await Promise.all(starts.map((start, i) => (results[i]?.status === 'fulfilled' ? start.stop() : start.exited)));
    }
  }, 120_000);

  test('when shared and something other than PostgreSQL holds the port, then that error is reported, not a new cluster started', async () => {
    const dir = path.join(parent, 'shared');
    const impostor = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const port = (impostor.address() as { port: number }).port;
    try {
      await expect(startEmbeddedPostgres(dir, port, logger, 'shared')).rejects.toThrow(/Connection terminated/);
      expect(existsSync(dir)).toBe(false);
    } finally {
      impostor.close();
    }
  });
});
