import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './helpers';
import { sampleValue } from './metricsText';

// serve as it runs in production: the compiled build, in its own process (as server.test.ts).
const cli = path.resolve(__dirname, '../dist/cli.js');
let database: TestDatabase;
beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does)`);
  database = await createTestDatabase({ migrated: false });
});
afterAll(() => database.drop());

interface Running {
  child: ChildProcessWithoutNullStreams;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

function serve(metricsPort: string): { child: ChildProcessWithoutNullStreams; output: () => string; exited: Promise<number | null> } {
  const env = { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', METRICS_PORT: metricsPort, DATABASE_URL: database.url, TOKEN_SECRET: 'a-test-secret-that-is-long-enough-for-hs256' };
  const child = spawn(process.execPath, [cli, 'serve'], { env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function started(metricsPort: string): Promise<Running> {
  const running = serve(metricsPort);
  const deadline = Date.now() + 20_000;
  let match: RegExpExecArray | null = null;
  while (!(match = /"port":(\d+),"msg":"listening"/.exec(running.output()))) {
    if (running.child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not listen:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { ...running, port: Number(match[1]) };
}

/** The TCP ports a process listens on, from /proc: its socket inodes among the listening sockets. */
async function listeningPorts(pid: number): Promise<number[]> {
  const fds = await readdir(`/proc/${pid}/fd`);
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  const inodes = new Set(links.map((link) => /^socket:\[(\d+)\]$/.exec(link)?.[1]).filter(Boolean));
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && inodes.has(fields[9])) ports.add(parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

const freeListener = (): Promise<Server> =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
const portOfListener = (server: Server) => (server.address() as { port: number }).port;

describe('serve and METRICS_PORT', () => {
  test('when METRICS_PORT is set, then /metrics answers there (not on the API port), and SIGTERM closes it with a scraper connected', async () => {
    const placeholder = await freeListener();
    const metricsPort = portOfListener(placeholder);
    await new Promise((resolve) => placeholder.close(resolve));
    const server = await started(String(metricsPort));
    try {
      expect(await listeningPorts(server.child.pid!)).toEqual([server.port, metricsPort].sort((a, b) => a - b));
      await fetch(`http://127.0.0.1:${server.port}/ready`);
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(sampleValue(text, 'http_request_duration_seconds_count', { method: 'GET', route: '/ready', status: '200' })).toBe(1);
      expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(404);
      // A scraper's kept-alive connection, answered and open, does not hold the shutdown.
      const scraper = connect(metricsPort, '127.0.0.1');
      const closed = once(scraper, 'close');
      scraper.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
      const [answer] = (await once(scraper, 'data')) as [Buffer];
      expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      await closed;
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  test('when METRICS_PORT is 0, then the process listens on the API port alone', async () => {
    const server = await started('0');
    try {
      expect(await listeningPorts(server.child.pid!)).toEqual([server.port]);
      expect(server.output()).toContain('metrics off (METRICS_PORT=0)');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('when METRICS_PORT is in use, then serve stops with exit 1 naming it and what to do, and never listens', async () => {
    const taken = await freeListener();
    try {
      const refused = serve(String(portOfListener(taken)));
      expect(await refused.exited).toBe(1);
      expect(refused.output()).toContain(`METRICS_PORT ${portOfListener(taken)} on 127.0.0.1 is in use: set METRICS_PORT to a free port, or to 0 to turn metrics off`);
      expect(refused.output()).not.toContain('"msg":"listening"');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
