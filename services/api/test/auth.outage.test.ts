import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { Client } from 'pg';
import { getContainerRuntimeClient } from 'testcontainers';
import { CredentialCache } from '../src/auth/credentialCache';
import { createDatabase, migrate, type Database } from '../src/db/database';
import { LoginThrottle } from '../src/auth/loginThrottle';
import { createUser } from '../src/users/repository';
import { buildTestApp, freePort, waitUntil } from './helpers';
import { dockerAnswers } from './redisServer';

/**
 * A PostgreSQL of this file's own, on a fixed host port, so that it can be stopped and started
 * under load and come back at the same address.
 */
let container: StartedPostgreSqlContainer;
let db: Database;
let url: string;
const clients = 4;

const run = process.env.TEST_USE_DOCKER !== 'false' ? test : test.skip;

beforeAll(async () => {
  if (process.env.TEST_USE_DOCKER === 'false') return;
  if (!(await dockerAnswers())) throw new Error('this test stops and starts a PostgreSQL container: it needs a Docker engine (TEST_USE_DOCKER=false skips it)');
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const port = await freePort();
  container = await new PostgreSqlContainer(process.env.TEST_POSTGRES_IMAGE ?? 'postgres:17-trixie')
    .withExposedPorts({ container: 5432, host: port })
    .start();
  url = container.getConnectionUri();
  db = createDatabase(url, 5);
  await migrate(db);
  for (let i = 0; i < clients; i++) await createUser(db, `writer-${i}`, `password-${i}`);
}, 120_000);

afterAll(async () => {
  await db?.destroy();
  await container?.stop();
});

async function acceptsConnections(): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface Answer {
  client: number;
  at: number;
  status: number;
  body: unknown;
  retryAfter: string | null;
}

describe('a PostgreSQL restart under concurrent writers', () => {
  run('when PostgreSQL is stopped and started, then correct credentials get 503 meanwhile (never 401/429) and 2xx within 5 s of it being back', async () => {
    // A cold credential cache (nothing is remembered): every request runs the login check and its throttle.
    const loginThrottle = new LoginThrottle(5, 2); // per name: 15
    const { app } = buildTestApp(db, { credentialCache: new CredentialCache(0, 1000), loginThrottle });
    const server = await new Promise<Server>((resolve) => {
      const listening = createServer(app).listen(0, '127.0.0.1', () => resolve(listening));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1.0/pxcodes/`;
    const answers: Answer[] = [];
    let running = true;
    const writer = async (client: number) => {
      const authorization = `Basic ${Buffer.from(`writer-${client}:password-${client}`).toString('base64')}`;
      for (let n = 0; running; n++) {
        const post = n % 2 === 0;
        const res = await fetch(base, {
          method: post ? 'POST' : 'GET',
          headers: { authorization, 'content-type': 'application/json' },
          body: post ? JSON.stringify({ pxcode: `W${client}-${n}`, procedure: 'WRITTEN DURING A RESTART' }) : undefined,
        });
        const body: unknown = await res.json().catch(() => undefined);
        answers.push({ client, at: Date.now(), status: res.status, body, retryAfter: res.headers.get('retry-after') });
        // A client that is turned away paces itself a little, as a real one would.
        if (res.status >= 400) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const writers = Array.from({ length: clients }, (_, client) => writer(client));
    const okSince = (since: number, client: number) => answers.some((a) => a.client === client && a.at >= since && a.status < 300);
    try {
      await waitUntil(() => Array.from({ length: clients }).every((_, client) => okSince(0, client)), 20_000);

      const runtime = await getContainerRuntimeClient();
      const handle = runtime.container.getById(container.getId());
      const stoppedAt = Date.now();
      await runtime.container.stop(handle, { timeout: 10 });
      // Enough refused attempts to have used up the failed-login budget many times over.
      await waitUntil(() => answers.filter((a) => a.at >= stoppedAt && a.status >= 400).length >= 30, 20_000);
      await runtime.container.start(handle);
      await waitUntil(acceptsConnections, 60_000);
      const back = Date.now();
      await waitUntil(() => Array.from({ length: clients }).every((_, client) => okSince(back, client)), 5000);
    } finally {
      running = false;
      await Promise.all(writers);
      await new Promise((resolve) => server.close(resolve));
    }

    const refused = answers.filter((a) => a.status >= 400);
    expect(refused.length).toBeGreaterThanOrEqual(30);
    expect(refused.filter((a) => a.status !== 503)).toEqual([]); // never 401 or 429 for correct credentials
    for (const answer of refused) {
      expect(answer.body).toEqual({ status: 503, error: 'Service Unavailable', message: expect.any(String) });
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    // Nothing of the outage was counted against the names either: each has its whole budget left.
    for (let client = 0; client < clients; client++) {
      const name = `writer-${client}`;
      for (let i = 0; i < 15; i++) {
        expect(await loginThrottle.begin(`10.8.${client}.${i}`, name)).toBeUndefined();
        loginThrottle.failed(`10.8.${client}.${i}`, name);
      }
      expect(await loginThrottle.begin(`10.8.${client}.99`, name)).toMatchObject({ by: 'name' });
    }
  }, 180_000);
});
