import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { createLogger } from '../src/logger';
import { freePort, waitUntil } from './helpers';

const embedded = path.resolve(__dirname, '../dist/db/embedded.js');

/**
 * A cluster started by a child process from dist/ (jest cannot import the package, an ES module):
 * `ready` resolves once it answers; `stop` stops it and waits for the child to end.
 */
function startInChild(dir: string, port: number) {
  const script = `
    const quiet = { info() {}, debug() {}, error() {}, warn() {} };
    require(${JSON.stringify(embedded)}).startEmbeddedPostgres(${JSON.stringify(dir)}, ${port}, quiet).then((db) => {
      process.stdout.write('ready');
      process.stdin.on('end', () => db.stop().then(() => process.exit(0))).resume();
    }, (error) => (process.stderr.write(String(error)), process.exit(1)));`;
  const child = spawn(process.execPath, ['-e', script], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
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

/** Every file holding the password while the cluster is made: its mode and its folder's. */
async function passwordFilesSeen(password: string, seen: Map<string, { mode: number; folderMode: number }>): Promise<void> {
  for (const name of await readdir(tmpdir()).catch(() => [])) {
    const inside = name.startsWith('starter-initdb-') ? await readdir(path.join(tmpdir(), name)).catch(() => []) : [];
    const candidates = name.startsWith('pg-password-') ? [name] : inside.map((file) => path.join(name, file));
    for (const file of candidates.map((candidate) => path.join(tmpdir(), candidate))) {
      const [content, info, folder] = await Promise.all([readFile(file, 'utf8'), stat(file), stat(path.dirname(file))]).catch(() => []);
      if (content?.trim() === password && info && folder) seen.set(file, { mode: info.mode & 0o777, folderMode: folder.mode & 0o777 });
    }
  }
}

async function canEnter(dir: string, port: number): Promise<void> {
  const password = (await readFile(`${dir}.password`, 'utf8')).trim();
  const client = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'starter' });
  await client.connect();
  await client.end();
}

describe('startEmbeddedPostgres', () => {
  test('when a cluster is made, then initdb reads the kept password only from a private file (600), and the cluster answers to it', async () => {
    const dir = path.join(parent, 'made');
    const port = await freePort();
    const cluster = startInChild(dir, port);
    const seen = new Map<string, { mode: number; folderMode: number }>();
    let done = false;
    void cluster.ready.finally(() => (done = true)).catch(() => undefined);
    await waitUntil(() => existsSync(`${dir}.password`));
    const password = (await readFile(`${dir}.password`, 'utf8')).trim();
    while (!done) await passwordFilesSeen(password, seen);
    try {
      await cluster.ready;
      expect((await stat(`${dir}.password`)).mode & 0o777).toBe(0o600);
      expect(seen.size).toBeGreaterThan(0);
      expect([...seen.keys()].map((file) => path.basename(file))).toContain('password'); // initdb's --pwfile
      for (const [file, { mode, folderMode }] of seen) {
        expect(path.basename(path.dirname(file))).toMatch(/^starter-initdb-/); // never in the shared /tmp
        expect(folderMode).toBe(0o700);
        if (path.basename(file) === 'password') expect(mode).toBe(0o600);
        expect(existsSync(path.dirname(file))).toBe(false); // removed after
      }
      expect(existsSync(path.join(dir, 'PG_VERSION'))).toBe(true);
      expect(await initFolders(dir)).toEqual([]);
      await canEnter(dir, port);
    } finally {
      await cluster.stop();
    }
  }, 120_000);

  test('when the first start is interrupted while the cluster is made, then nothing is left at its folder, and the next start makes it whole', async () => {
    const dir = path.join(parent, 'interrupted');
    const port = await freePort();
    const first = startInChild(dir, port);
    first.ready.catch(() => undefined);
    await waitUntil(async () => (await initFolders(dir).catch(() => [])).length > 0, 60_000);
    process.kill(-first.child.pid!, 'SIGKILL'); // the node process and initdb with it
    await first.exited;
    expect(existsSync(dir)).toBe(false);

    const cluster = startInChild(dir, port);
    try {
      await cluster.ready;
      await canEnter(dir, port);
      expect(await initFolders(dir)).toEqual([]); // the abandoned one is gone too
    } finally {
      await cluster.stop();
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
