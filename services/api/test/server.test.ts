import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { hashPassword } from '../src/users/passwords';
import { createTestDatabase, freePort, rawHttp, waitUntil, type TestDatabase } from './helpers';

// The server is tested as it runs in production: the compiled build, in its own process.
const cli = path.resolve(__dirname, '../dist/cli.js');
beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does)`);
});

interface Running {
  child: ChildProcessWithoutNullStreams;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

function start(env: NodeJS.ProcessEnv): Promise<Running> {
  // A variable given as undefined is left out (the default applies). Metrics off: 9464 may be taken.
  const given = Object.entries({ PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', METRICS_PORT: '0', ...env }).filter(([, value]) => value !== undefined);
  const child = spawn(process.execPath, [cli, 'serve'], { env: Object.fromEntries(given) });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" within 20s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /"port":(\d+),"msg":"listening"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), output: () => output, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${output}`));
    });
  });
}

/** Runs `serve` expecting it to refuse: its exit code and what it wrote to stderr. */
async function startRefused(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cli, 'serve'], { env: { PATH: process.env.PATH, PORT: '0', METRICS_PORT: '0', ...env } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stderr };
}

const authHeader = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

const tokenSecret = 'a-test-secret-that-is-long-enough-for-hs256';

async function stop(server: Running): Promise<number | null> {
  server.child.kill('SIGTERM');
  return server.exited;
}

describe('serve with DATABASE_URL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
  });
  afterAll(() => database.drop());

  test('when started on a new database, then it migrates, seeds 100 codes and an admin, and answers', async () => {
    const server = await start({ DATABASE_URL: database.url, TOKEN_SECRET: tokenSecret, ADMIN_PASSWORD: 'first-admin' });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/api/v1.0/pxcodes/`, {
        headers: authHeader('admin', 'first-admin'),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { meta: { total: number; first: string } };
      expect(body.meta.total).toBe(100);
      expect(body.meta.first).toBe(`http://127.0.0.1:${server.port}/api/v1.0/pxcodes/?per_page=100&page=1`);
      expect(server.output()).toContain(`curl -u admin:PASSWORD http://localhost:${server.port}/api/v1.0/pxcodes/`);
      expect(server.output()).not.toContain('first-admin');
    } finally {
      expect(await stop(server)).toBe(0);
    }
  });

  test('when restarted after the codes were deleted, then nothing is reloaded and no data is lost', async () => {
    await database.db('starter_pxcodes').whereNot({ pxcode: '039' }).delete();
    const server = await start({ DATABASE_URL: database.url, TOKEN_SECRET: tokenSecret, ADMIN_PASSWORD: 'ignored-now' });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/api/v1.0/pxcodes/`, {
        headers: authHeader('admin', 'first-admin'),
      });
      expect(((await res.json()) as { meta: { total: number } }).meta.total).toBe(1);
    } finally {
      expect(await stop(server)).toBe(0);
    }
  });

  test('when SIGTERM arrives during a request, then the request is finished and the process exits 0', async () => {
    const server = await start({ DATABASE_URL: database.url, TOKEN_SECRET: tokenSecret });
    // Hold the table so the request is still in flight when the signal comes.
    const blocker = new Client({ connectionString: database.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table starter_pxcodes in access exclusive mode');
      const inFlight = fetch(`http://127.0.0.1:${server.port}/api/v1.0/pxcodes/`, {
        headers: authHeader('admin', 'first-admin'),
      });
      await waitUntil(async () => {
        const waiting = await blocker.query(
          "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()",
        );
        return waiting.rows[0].n > 0;
      });
      const signalled = Date.now();
      server.child.kill('SIGTERM');
      await waitUntil(() => server.output().includes('stopping: finishing in-flight requests'));
      await blocker.query('commit');
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(await server.exited).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(2000);
      // Stopped accepting: a new connection is refused.
      await expect(fetch(`http://127.0.0.1:${server.port}/health`)).rejects.toThrow();
    } finally {
      await blocker.end();
      server.child.kill('SIGKILL');
    }
  });
});

describe('serve: where it listens, and the demo password', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
  });
  afterAll(() => database.drop());

  test('when HOST is not set, then it listens on 127.0.0.1 only, and the seed session on localhost works', async () => {
    const server = await start({ DATABASE_URL: database.url, TOKEN_SECRET: tokenSecret, HOST: undefined });
    try {
      expect(server.output()).toMatch(/"host":"127\.0\.0\.1","port":\d+,"msg":"listening"/);
      const res = await fetch(`http://localhost:${server.port}/api/v1.0/pxcodes/039`, { headers: authHeader('admin', 'admin') });
      expect(res.status).toBe(200);
    } finally {
      expect(await stop(server)).toBe(0);
    }
  });

  test.each([
    [{ HOST: '0.0.0.0' }, 'HOST is 0.0.0.0', 'or HOST to 127.0.0.1'],
    [{ HOST: '::' }, 'HOST is ::', 'or HOST to 127.0.0.1'],
    [{ HOST: '0.0.0.0', PUBLISHED_ADDRESS: '0.0.0.0' }, "PUBLISHED_ADDRESS (the stack's API_BIND) is 0.0.0.0", 'or API_BIND to 127.0.0.1'],
    [{ HOST: '127.0.0.1', PUBLISHED_ADDRESS: '192.0.2.10' }, "PUBLISHED_ADDRESS (the stack's API_BIND) is 192.0.2.10", 'or API_BIND to 127.0.0.1'],
  ])('when %j with the demo password, then it refuses to start naming ADMIN_PASSWORD and the bind setting', async (env, setting, hint) => {
    const { code, stderr } = await startRefused({ DATABASE_URL: database.url, TOKEN_SECRET: tokenSecret, ...env });
    expect(code).toBe(1);
    expect(stderr).toContain(`starter: ADMIN_PASSWORD is the demo default "admin" while ${setting}, reachable from other machines`);
    expect(stderr).toContain(hint);
  });

  test('when a container listens on 0.0.0.0 but is published on loopback, or the admin was made with a password of its own, then it starts', async () => {
    const own = await createTestDatabase({ migrated: false });
    try {
      for (const env of [
        { DATABASE_URL: database.url, HOST: '0.0.0.0', PUBLISHED_ADDRESS: '127.0.0.1' },
        { DATABASE_URL: own.url, HOST: '0.0.0.0', ADMIN_PASSWORD: 'not-the-demo-one' },
      ]) {
        const server = await start({ TOKEN_SECRET: tokenSecret, ...env });
        expect((await fetch(`http://127.0.0.1:${server.port}/health`)).status).toBe(200);
        expect(await stop(server)).toBe(0);
      }
    } finally {
      await own.drop();
    }
  });

  test('when the admin in the database still has the demo password, then a new ADMIN_PASSWORD (used only to seed) does not let it start exposed', async () => {
    // The first test of this block seeded the admin with the demo password.
    await stop(await start({ DATABASE_URL: database.url, TOKEN_SECRET: tokenSecret }));
    const { code, stderr } = await startRefused({ DATABASE_URL: database.url, TOKEN_SECRET: tokenSecret, HOST: '0.0.0.0', PUBLISHED_ADDRESS: '0.0.0.0', ADMIN_PASSWORD: 'a-new-one' });
    expect(code).toBe(1);
    expect(stderr).toContain(`starter: the user admin still has the demo password "admin" while PUBLISHED_ADDRESS (the stack's API_BIND) is 0.0.0.0`);
    expect(stderr).toContain('passwd admin');
  });

  test('when another user than ADMIN_USERNAME has the demo password, then it refuses to start exposed naming that user', async () => {
    const own = await createTestDatabase();
    try {
      await own.db('starter_users').insert([
        { username: 'ops', password_hash: await hashPassword('admin') },
        { username: 'root', password_hash: await hashPassword('not-the-demo-one') },
      ]);
      const { code, stderr } = await startRefused({ DATABASE_URL: own.url, TOKEN_SECRET: tokenSecret, HOST: '0.0.0.0', ADMIN_USERNAME: 'root', ADMIN_PASSWORD: 'a-new-one' });
      expect(code).toBe(1);
      expect(stderr).toContain('starter: the user ops still has the demo password "admin" while HOST is 0.0.0.0');
      expect(stderr).toContain('passwd ops');
    } finally {
      await own.drop();
    }
  });
});

describe('serve: slow clients', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
  });
  afterAll(() => database.drop());

  /** A connection that sends a header line now and then and never finishes its headers. */
  function slowloris(port: number): { socket: Socket; closed: Promise<number> } {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200);
    const closed = new Promise<number>((resolve) =>
      socket.on('close', () => {
        clearInterval(drip);
        resolve(Date.now());
      }),
    );
    return { socket, closed };
  }

  test('when 200 connections send their headers slowly, then each is cut in about HEADERS_TIMEOUT_SECONDS while other clients are served', async () => {
    // All 200 come from one address: the per-address cap is raised so the timeout is what cuts them.
    const server = await start({ DATABASE_URL: database.url, TOKEN_SECRET: tokenSecret, ADMIN_PASSWORD: 'x', HEADERS_TIMEOUT_SECONDS: '1', REQUEST_TIMEOUT_SECONDS: '2', MAX_CONNECTIONS_PER_ADDRESS: '1000' });
    try {
      const opened = Date.now();
      const slow = Array.from({ length: 200 }, () => slowloris(server.port));
      let served = 0;
      const others = (async () => {
        while (Date.now() - opened < 1500) {
          const res = await fetch(`http://127.0.0.1:${server.port}/api/v1.0/pxcodes/039`, { headers: authHeader('admin', 'x') });
          expect(res.status).toBe(200);
          served += 1;
        }
      })();
      const closedAt = await Promise.all(slow.map(({ closed }) => closed));
      await others;
      expect(served).toBeGreaterThan(5);
      // Cut after the header timeout (1 s), well before Node's default (a minute and more).
      expect(Math.min(...closedAt) - opened).toBeGreaterThanOrEqual(900);
      expect(Math.max(...closedAt) - opened).toBeLessThan(3000);
    } finally {
      expect(await stop(server)).toBe(0);
    }
  });

  test('when MAX_CONNECTIONS are open, then a new connection is closed at once; once the slow ones are cut, clients are served again', async () => {
    const server = await start({ DATABASE_URL: database.url, TOKEN_SECRET: tokenSecret, ADMIN_PASSWORD: 'x', HEADERS_TIMEOUT_SECONDS: '1', MAX_CONNECTIONS: '20' });
    try {
      const slow = Array.from({ length: 20 }, () => slowloris(server.port));
      await waitUntil(() => server.output().length > 0 && slow.every(({ socket }) => socket.readyState === 'open'));
      await expect(fetch(`http://127.0.0.1:${server.port}/health`)).rejects.toThrow();
      await Promise.all(slow.map(({ closed }) => closed));
      expect((await fetch(`http://127.0.0.1:${server.port}/health`)).status).toBe(200);
    } finally {
      expect(await stop(server)).toBe(0);
    }
  });
});

describe('serve: connections', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
  });
  afterAll(() => database.drop());

  test('when one address holds MAX_CONNECTIONS_PER_ADDRESS, then its next connection is cut while another address is served; Node\'s own 431 is JSON with nosniff', async () => {
    const server = await start({ DATABASE_URL: database.url, TOKEN_SECRET: tokenSecret, ADMIN_PASSWORD: 'x', MAX_CONNECTIONS_PER_ADDRESS: '3' });
    const sockets: Socket[] = [];
    const opened = (localAddress: string) => {
      const socket = connect({ port: server.port, host: '127.0.0.1', localAddress });
      socket.on('error', () => undefined);
      sockets.push(socket);
      return new Promise<boolean>((resolve) => {
        socket.once('close', () => resolve(false));
        socket.once('connect', () => setTimeout(() => resolve(!socket.destroyed && socket.readyState === 'open'), 300));
      });
    };
    try {
      expect(await Promise.all([1, 2, 3].map(() => opened('127.0.0.1')))).toEqual([true, true, true]);
      expect(await opened('127.0.0.1')).toBe(false);
      expect(await opened('127.0.0.2')).toBe(true);
      for (const socket of sockets) socket.destroy();
      // Once the server has seen them close, the address has room again.
      await waitUntil(async () => (await fetch(`http://127.0.0.1:${server.port}/health`).then((res) => res.status, () => 0)) === 200);
      const answer = await rawHttp(server.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(answer).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
      expect(answer).toContain('X-Content-Type-Options: nosniff');
      expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).toMatchObject({ status: 431, error: 'Request Header Fields Too Large' });
    } finally {
      for (const socket of sockets) socket.destroy();
      expect(await stop(server)).toBe(0);
    }
  });
});

describe('serve with a bad configuration', () => {
  test('when a variable is invalid, then it exits 1 naming the variable', async () => {
    const { code, stderr } = await startRefused({ PORT: 'eighty' });
    expect(code).toBe(1);
    expect(stderr).toContain('starter: invalid configuration: PORT: ');
  });

  test.each([
    [{}, 'TOKEN_SECRET: required with DATABASE_URL'],
    [{ TOKEN_SECRET: 'short' }, 'TOKEN_SECRET: must be at least 32 characters'],
  ])('when DATABASE_URL is set and the token secret is %j, then it refuses to start naming TOKEN_SECRET', async (env, expected) => {
    const { code, stderr } = await startRefused({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', ...env });
    expect(code).toBe(1);
    expect(stderr).toContain(expected);
  });
});

describe('serve without DATABASE_URL (npm start)', () => {
  let parent: string;
  beforeAll(async () => {
    parent = await mkdtemp(path.join(tmpdir(), 'starter-embedded-'));
    await chmod(parent, 0o755); // the cluster runs as user postgres when we are root
  });
  afterAll(() => rm(parent, { recursive: true, force: true }));

  test('when started twice on the embedded PostgreSQL, then the data is kept between runs', async () => {
    const env = { EMBEDDED_PG_DIR: path.join(parent, 'pg'), EMBEDDED_PG_PORT: String(await freePort()) };
    const first = await start(env);
    const base = `http://127.0.0.1:${first.port}/api/v1.0/pxcodes/`;
    let token = '';
    try {
      const list = await fetch(base, { headers: authHeader('admin', 'admin') });
      expect(((await list.json()) as { items: unknown[] }).items).toHaveLength(100);
      const created = await fetch(base, {
        method: 'POST',
        headers: { ...authHeader('admin', 'admin'), 'Content-Type': 'application/json' },
        body: JSON.stringify({ pxcode: 'KEEP1', procedure: 'SURVIVES A RESTART' }),
      });
      expect(created.status).toBe(201);
      const issued = await fetch(`http://127.0.0.1:${first.port}/auth/request-token`, { headers: authHeader('admin', 'admin') });
      token = ((await issued.json()) as { token: string }).token;
    } finally {
      expect(await stop(first)).toBe(0);
    }
    // The token secret was generated once and kept with the data; so was the cluster's password.
    expect((await stat(path.join(parent, 'token-secret'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(parent, 'pg.password'))).mode & 0o777).toBe(0o600);
    const second = await start(env);
    try {
      const withToken = await fetch(`http://127.0.0.1:${second.port}/api/v1.0/pxcodes/KEEP1`, { headers: authHeader(token, '') });
      expect(withToken.status).toBe(200);
      const res = await fetch(`http://127.0.0.1:${second.port}/api/v1.0/pxcodes/KEEP1`, {
        headers: authHeader('admin', 'admin'),
      });
      expect(res.status).toBe(200);
      const total = await fetch(`http://127.0.0.1:${second.port}/api/v1.0/pxcodes/`, { headers: authHeader('admin', 'admin') });
      expect(((await total.json()) as { meta: { total: number } }).meta.total).toBe(101);

      // A second server on the same data folder must not take the cluster from the first.
      const refused = await start(env).then(
        (third) => (third.child.kill('SIGKILL'), 'started'),
        (error: Error) => error.message,
      );
      expect(refused).toContain('is in use by another command');
    } finally {
      expect(await stop(second)).toBe(0);
    }
  });

  test('when a cluster still has the fixed password of earlier versions, then it gets a random one of its own and keeps working; a password file others can read is refused', async () => {
    const dir = path.join(parent, 'pg-old');
    const pgPort = await freePort();
    const env = { EMBEDDED_PG_DIR: dir, EMBEDDED_PG_PORT: String(pgPort) };
    const superuser = (password: string) => new Client({ host: '127.0.0.1', port: pgPort, user: 'postgres', password, database: 'postgres' });
    const first = await start(env);
    // Made as earlier versions made it: the fixed password, no password file.
    const password = (await readFile(`${dir}.password`, 'utf8')).trim();
    expect(password).toMatch(/^[A-Za-z0-9+/=]{64}$/);
    const admin = superuser(password);
    await admin.connect();
    await admin.query("alter user postgres password 'starter-embedded'");
    await admin.end();
    expect(await stop(first)).toBe(0);
    await rm(`${dir}.password`);

    const second = await start(env);
    try {
      expect((await fetch(`http://127.0.0.1:${second.port}/api/v1.0/pxcodes/039`, { headers: authHeader('admin', 'admin') })).status).toBe(200);
      const kept = `${dir}.password`;
      expect((await stat(kept)).mode & 0o777).toBe(0o600);
      const fresh = (await readFile(kept, 'utf8')).trim();
      expect(fresh).not.toBe(password);
      await expect(superuser('starter-embedded').connect()).rejects.toMatchObject({ code: '28P01' });
      const withNew = superuser(fresh);
      await withNew.connect();
      await withNew.end();
    } finally {
      expect(await stop(second)).toBe(0);
    }

    await chmod(`${dir}.password`, 0o644);
    const refused = await start(env).then(
      (third) => (third.child.kill('SIGKILL'), 'started'),
      (error: Error) => error.message,
    );
    expect(refused).toContain(`${dir}.password: the embedded PostgreSQL's password must be a file of this user readable by no one else (chmod 600)`);
  });

  test('when the server was killed and left its PostgreSQL running, then the next start takes over', async () => {
    const env = { EMBEDDED_PG_DIR: path.join(parent, 'pg2'), EMBEDDED_PG_PORT: String(await freePort()) };
    const killed = await start(env);
    killed.child.kill('SIGKILL');
    await killed.exited;
    const next = await start(env);
    try {
      expect(next.output()).toContain('stopping an embedded PostgreSQL left running by a process that is gone');
      const res = await fetch(`http://127.0.0.1:${next.port}/api/v1.0/pxcodes/039`, { headers: authHeader('admin', 'admin') });
      expect(res.status).toBe(200);
    } finally {
      expect(await stop(next)).toBe(0);
    }
  });
});
