import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Client } from 'pg';
import { buildApp, type AppDeps } from '../src/app';
import { CredentialCache } from '../src/auth/credentialCache';
import { createDatabase, migrate, type Database } from '../src/db/database';
import { createLogger } from '../src/logger';
import { LoginThrottle } from '../src/auth/loginThrottle';
import { Tokens } from '../src/auth/tokens';
import { createUser } from '../src/users/repository';
import { importFile } from '../src/pxcodes/importer';
import { sampleDataFile } from '../src/seed';
import { checkRawAnswers } from './rawAnswers';

export function serverUrl(): string {
  const url = process.env.STARTER_TEST_SERVER_URL;
  if (!url) throw new Error('STARTER_TEST_SERVER_URL is not set: run the tests through jest (globalSetup)');
  return url;
}

export interface TestDatabase {
  db: Database;
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the test server, so a test file owns every row it sees. */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `starter_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  const db = createDatabase(url.toString(), 5);
  if (options.migrated !== false) await migrate(db);
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.destroy();
      const client = new Client({ connectionString: serverUrl() });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Collects pino's JSON lines, to check what was (and was not) logged. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    done();
  }
}

export const user = { username: 'tester', password: 'correct horse battery staple' };

/** The test user's credentials, as supertest's `.auth(...userAuth)` takes them. */
export const userAuth = [user.username, user.password] as const;

/** An Authorization header value for Basic credentials (UTF-8, as the API reads them). */
/** An Authorization header for `user:password` as written (colons, controls and all), in UTF-8. */
export const basic = (credentials: string) => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;

export const basicAuthorization = (username: string, password: string) => basic(`${username}:${password}`);

export const bearerAuthorization = (token: string) => `Bearer ${token}`;

/**
 * The API's error answer, exactly: the status and `{status, error, message}`. A string `message`
 * is the whole message, a RegExp must match it; without one any message will do.
 */
export function expectError(res: { status: number; body: unknown }, status: number, error: string, message?: string | RegExp): void {
  const expected = message === undefined ? expect.any(String) : typeof message === 'string' ? message : expect.stringMatching(message);
  expect({ status: res.status, body: res.body }).toEqual({ status, body: { status, error, message: expected } });
}

export interface TestApp {
  app: ReturnType<typeof buildApp>;
  logs: LogCapture;
  credentialCache: CredentialCache;
}

export const testTokenSecret = 'the-tests-sign-their-tokens-with-this-secret';

export function buildTestApp(db: Database, overrides: Partial<AppDeps> = {}): TestApp {
  const logs = new LogCapture();
  const credentialCache = overrides.credentialCache ?? new CredentialCache(60_000, 1000);
  // Generous: the tests send many wrong passwords from one address (the throttle has tests of its own).
  const loginThrottle = new LoginThrottle(1000, 4);
  const tokens = new Tokens(testTokenSecret, 3600);
  const app = buildApp({ db, logger: createLogger('info', { stream: logs }), credentialCache, loginThrottle, tokens, ...overrides });
  return { app, logs, credentialCache };
}

export async function addTestUser(db: Database, username = user.username, password = user.password): Promise<void> {
  await createUser(db, username, password);
}

let counter = 0;
/** A pxcode no other test in this file uses. */
export function uniqueCode(): string {
  counter += 1;
  return `T${process.pid % 1000}-${counter}`.slice(0, 10);
}

/** A new item's body, with a code no other test in this file uses. */
export function newItem(procedure = 'A PROCEDURE'): { pxcode: string; procedure: string } {
  return { pxcode: uniqueCode(), procedure };
}

export const portOf = (server: Server) => (server.address() as { port: number }).port;

export interface SampleDataFixture {
  /** The file's own database, with the test user and the seed's 100 codes (set up in beforeAll). */
  readonly database: TestDatabase;
  readonly db: Database;
  /**
   * The app listening on a loopback port, closed in afterAll. Supertest gives a bare handler a
   * server (and a Host) per request; cached answers are per host, so these tests keep one.
   */
  listening(app: RequestListener): Promise<Server>;
}

/** Registers beforeAll and afterAll for a test file that reads the sample data through servers of its own. */
export function sampleDataFixture(): SampleDataFixture {
  let database: TestDatabase | undefined;
  const servers: Server[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    await addTestUser(database.db);
    await importFile(database.db, sampleDataFile);
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await database?.drop();
  });
  const setUp = () => {
    if (!database) throw new Error('the sample data fixture is set up in beforeAll');
    return database;
  };
  return {
    get database() {
      return setUp();
    },
    get db() {
      return setUp().db;
    },
    async listening(app) {
      const server = createHttpServer(app);
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    },
  };
}

/** Polls a condition until it holds, or fails after the deadline: tests wait on states, not sleeps. */
export async function waitUntil(condition: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A connection to the run's Redis (see globalSetup). */
export function testRedisUrl(): string {
  const url = process.env.STARTER_TEST_REDIS_URL;
  if (!url) throw new Error('STARTER_TEST_REDIS_URL is not set: run the tests through jest (globalSetup)');
  return url;
}

/**
 * A TCP proxy to PostgreSQL, to play the network between the API and its database: it can delay
 * what the server sends (`delayMs`), stop forwarding while keeping every connection open
 * (freeze(): no FIN, no RST, as when a NAT forgets a connection), or go away (close(): every
 * connection cut, new ones refused).
 */
export async function databaseProxy(target: URL, delayMs = 0): Promise<{ url: string; freeze(): void; close(): void }> {
  const sockets: Socket[] = [];
  let frozen = false;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.push(client, upstream);
    client.on('data', (chunk) => frozen || upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (frozen) return;
      // Timers of one delay fire in the order they were set: the stream stays in order.
      if (delayMs === 0) client.write(chunk);
      else setTimeout(() => client.destroyed || client.write(chunk), delayMs);
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = new URL(target.toString());
  url.hostname = '127.0.0.1';
  url.port = String(typeof address === 'object' && address ? address.port : 0);
  return {
    url: url.toString(),
    freeze: () => void (frozen = true),
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/**
 * Writes raw HTTP/1.1 to a listening server; resolves with all it sent back once the connection
 * closes, each answer checked against the OpenAPI document (rejects with the checker's message).
 */
export async function rawHttp(port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(text);
  await new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const answers = Buffer.concat(chunks).toString('latin1');
  const problem = checkRawAnswers(port, text, answers);
  if (problem) throw new Error(problem);
  return answers;
}

/**
 * Reads each query 30 times on a database of its own (20 rows, one user) while a writer keeps
 * inserting and deleting batches of 5 (codes W<round>-<i>); every page must be 200 and hold the whole
 * matching set. Returns the pages whose item count disagreed with their `meta.total`.
 */
export async function pagesDisagreeingUnderWrites(queries: string[]): Promise<string[]> {
  const own = await createTestDatabase();
  try {
    await addTestUser(own.db);
    await own.db.raw("insert into starter_pxcodes (pxcode, procedure) select 'C' || i, 'X' from generate_series(1, 20) i");
    const { app } = buildTestApp(own.db);
    let writing = true;
    const writer = (async () => {
      for (let round = 0; writing; round++) {
        const batch = Array.from({ length: 5 }, (_, i) => ({ pxcode: `W${round}-${i}`, procedure: 'X' }));
        await own.db('starter_pxcodes').insert(batch);
        await own.db('starter_pxcodes').whereIn('pxcode', batch.map((row) => row.pxcode)).delete();
      }
    })();
    const disagreeing: string[] = [];
    const reader = async (query: string) => {
      for (let i = 0; i < 30; i++) {
        const res = await request(app).get(`/api/v1.0/pxcodes/${query}`).auth(...userAuth);
        expect(res.status).toBe(200);
        if (res.body.items.length !== res.body.meta.total) disagreeing.push(`${query}: ${res.body.items.length} items, total ${res.body.meta.total}`);
      }
    };
    try {
      await Promise.all(queries.map(reader));
    } finally {
      writing = false;
      await writer;
    }
    return disagreeing;
  } finally {
    await own.drop();
  }
}
