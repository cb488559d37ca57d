import { spawn, spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { GenericContainer, getContainerRuntimeClient, Wait } from 'testcontainers';
import { freePort } from './helpers';

export interface TestRedis {
  url: string;
  /** Stops the server (the test's "Redis went down"). */
  stop(): Promise<void>;
  /** Starts it again on the same address. */
  restart(): Promise<void>;
  /** Freezes it: connections stay open, nothing is answered (the test's "Redis is slow"). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Removes it for good. */
  dispose(): Promise<void>;
}

export const redisImage = process.env.TEST_REDIS_IMAGE ?? 'redis:8-trixie';

/**
 * A Redis server of the caller's own: testcontainers on the stand-in image when a Docker engine
 * answers, else a local redis-server when one is installed.
 */
export async function startRedis(): Promise<TestRedis> {
  if (process.env.TEST_USE_DOCKER !== 'false' && (await dockerAnswers())) return startRedisContainer();
  if (spawnSync('redis-server', ['--version']).status === 0) return startLocalRedis();
  throw new Error('no Redis for the tests: set TEST_REDIS_URL, start a Docker engine, or install redis-server');
}

async function startRedisContainer(): Promise<TestRedis> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const hostPort = await freePort();
  // A fixed host port, so the server comes back at the same address after a restart.
  const container = await new GenericContainer(redisImage)
    .withExposedPorts({ container: 6379, host: hostPort })
    .withCommand(['--save', '', '--appendonly', 'no'])
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  const runtime = await getContainerRuntimeClient();
  const handle = runtime.container.getById(container.getId());
  return {
    url: `redis://${container.getHost()}:${hostPort}`,
    stop: async () => void (await runtime.container.stop(handle, { timeout: 0 })),
    restart: async () => {
      await runtime.container.start(handle);
      await waitForPong(container.getHost(), hostPort);
    },
    pause: async () => void (await handle.pause()),
    resume: async () => void (await handle.unpause()),
    dispose: async () => void (await handle.remove({ force: true })),
  };
}

async function startLocalRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child = launch(port);
  await waitForPong('127.0.0.1', port);
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      child = launch(port);
      await waitForPong('127.0.0.1', port);
    },
    pause: async () => void child.kill('SIGSTOP'),
    resume: async () => void child.kill('SIGCONT'),
    dispose: async () => void child.kill('SIGKILL'),
  };
}

function launch(port: number) {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
}

async function waitForPong(host: string, port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      client.disconnect();
    }
  }
}

export async function dockerAnswers(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}
