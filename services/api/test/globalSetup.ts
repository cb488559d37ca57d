import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { createLogger } from '../src/logger';
import { freePort } from './helpers';
import { dockerAnswers, startRedis } from './redisServer';

/**
 * One PostgreSQL server for the whole run, from the first of: TEST_DATABASE_URL; testcontainers
 * when a Docker engine answers; the embedded PostgreSQL. Each test file then creates its own
 * database on it (see helpers.ts), so files never see each other's rows.
 */
export default async function globalSetup(): Promise<void> {
  await setUpPostgres();
  await setUpRedis();
}

/**
 * One Redis for the run, from the first of: TEST_REDIS_URL (or REDIS_URL); testcontainers on the
 * stand-in image; a local redis-server. Tests keep apart by key prefixes of their own.
 */
async function setUpRedis(): Promise<void> {
  const given = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;
  if (given) {
    process.env.STARTER_TEST_REDIS_URL = given;
    console.log('tests use TEST_REDIS_URL');
    return;
  }
  const redis = await startRedis();
  globalThis.stopTestRedis = () => redis.dispose();
  process.env.STARTER_TEST_REDIS_URL = redis.url;
  console.log(`tests use a Redis of their own (${redis.url})`);
}

async function setUpPostgres(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) {
    process.env.STARTER_TEST_SERVER_URL = process.env.TEST_DATABASE_URL;
    console.log(`\ntests use TEST_DATABASE_URL`);
    return;
  }
  if (process.env.TEST_USE_DOCKER !== 'false' && (await dockerAnswers())) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
    const image = process.env.TEST_POSTGRES_IMAGE ?? 'postgres:17-trixie';
    const container = await new PostgreSqlContainer(image).start();
    globalThis.stopTestDatabase = async () => void (await container.stop());
    process.env.STARTER_TEST_SERVER_URL = container.getConnectionUri();
    console.log(`\ntests use a testcontainers PostgreSQL (${image})`);
    return;
  }
  // The cluster runs as the user postgres when we are root: its folder must be reachable by it.
  const dir = await mkdtemp(path.join(tmpdir(), 'starter-test-'));
  await chmod(dir, 0o755);
  const embedded = await startEmbeddedPostgres(path.join(dir, 'pg'), await freePort(), createLogger('silent'));
  globalThis.stopTestDatabase = async () => {
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  };
  process.env.STARTER_TEST_SERVER_URL = embedded.url;
  console.log(`\ntests use an embedded PostgreSQL`);
}

declare global {
  var stopTestDatabase: (() => Promise<void>) | undefined;
  var stopTestRedis: (() => Promise<void>) | undefined;
}
