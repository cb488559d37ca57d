import { createServer, type RequestListener, type Server } from 'node:http';
import { buildApp, apiPrefix } from './app';
import { CredentialCache } from './auth/credentialCache';
import { ConfigError, exposure, loadConfig, refuseExposedDemoPassword, type Config } from './config';
import { answerClientErrors, limitConnections } from './connections';
import { connectDatabase } from './db/connection';
import { migrate } from './db/database';
import { createLogger, type Logger } from './logger';
import { memoryLimiters, redisLimiters } from './limits/limiters';
import { LoginThrottle } from './auth/loginThrottle';
import { connectRedis } from './limits/redis';
import { demoPassword, seedNewDatabase, usersWithDemoPassword } from './seed';
import { loadTokenSecret } from './auth/tokenSecret';
import { Tokens } from './auth/tokens';
import { listenForChanges } from './db/changeListener';
import { credentialInvalidation, usersChannel } from './auth/credentialChanges';
import { watchDependencies } from './metrics/gauges';
import { createMetrics, type Metrics } from './metrics/registry';
import { startMetricsServer, type MetricsServer } from './metrics/server';

type DatabaseConnection = Awaited<ReturnType<typeof connectDatabase>>;

interface Wired {
  app: RequestListener;
  metrics: Metrics | undefined;
  close: () => Promise<void>;
}

/** Start-up: config -> database -> migrate -> seed a new database -> listen; SIGTERM drains and exits 0. */
export async function serve(config: Config = loadConfig(), logger: Logger = createLogger(config.LOG_LEVEL)): Promise<void> {
  refuseExposedDemoPassword(config);
  const tokens = config.AUTH_MODES.token ? new Tokens(await loadTokenSecret(config), config.TOKEN_TTL) : undefined;
  const connection = await prepareDatabase(config, logger);
  await refuseExposedDemoUsers(config, connection);
  const wired = wire(config, logger, connection, tokens);
  const metricsServer = await serveMetrics(config, wired, logger);
  const server = createHttpServer(config, wired.app);
  const port = await listen(server, config, logger);
  announce(config, port, tokens);
  stopOnSignals(server, config, logger, async () => {
    await metricsServer?.close();
    await wired.close();
  });
}

/** GET /metrics on METRICS_PORT, before the API listens; a port in use stops the start, connections closed. */
async function serveMetrics(config: Config, wired: Wired, logger: Logger): Promise<MetricsServer | undefined> {
  if (!wired.metrics) {
    logger.info('metrics off (METRICS_PORT=0)');
    return undefined;
  }
  try {
    const metricsServer = await startMetricsServer(wired.metrics.registry, config.HOST, config.METRICS_PORT, logger);
    logger.info({ host: config.HOST, port: metricsServer.port }, 'serving metrics at /metrics');
    return metricsServer;
  } catch (error) {
    await wired.close();
    throw error;
  }
}

async function prepareDatabase(config: Config, logger: Logger): Promise<DatabaseConnection> {
  const connection = await connectDatabase(config, logger);
  const applied = await migrate(connection.db);
  if (applied.length) logger.info({ migrations: applied }, 'migrated the database');
  const admin = { username: config.ADMIN_USERNAME, password: config.ADMIN_PASSWORD };
  const seeded = await seedNewDatabase(connection.db, admin, config.SEED_SAMPLE_DATA);
  if (seeded.adminCreated) {
    logger.info({ username: config.ADMIN_USERNAME, sampleRows: seeded.sampleRows }, 'new database: created the admin user');
    if (config.ADMIN_PASSWORD === demoPassword) {
      logger.warn('the admin password is the demo default "admin": for local use only; set ADMIN_PASSWORD');
    }
  }
  return connection;
}

/** A database made earlier keeps the passwords its users were given then, whatever ADMIN_PASSWORD says. */
async function refuseExposedDemoUsers(config: Config, connection: DatabaseConnection): Promise<void> {
  const exposed = exposure(config);
  const users = exposed ? await usersWithDemoPassword(connection.db, config.ADMIN_USERNAME) : [];
  if (!exposed || users.length === 0) return;
  await connection.close();
  const named = users.length === 1 ? `the user ${users[0]} still has` : `the users ${users.join(', ')} still have`;
  throw new ConfigError(
    `${named} the demo password "admin" while ${exposed.setting}, reachable from other machines: change it with ` +
      `the CLI's passwd command (on the stack: docker compose run --rm starter-api passwd ${users[0]}), or set ` +
      `${exposed.rebind} to 127.0.0.1`,
  );
}

function wire(config: Config, logger: Logger, connection: DatabaseConnection, tokens: Tokens | undefined): Wired {
  const credentialCache = new CredentialCache(config.AUTH_CACHE_TTL * 1000, config.AUTH_CACHE_MAX);
  const changes = listenForChanges(connection.url, { [usersChannel]: credentialInvalidation(credentialCache) }, logger);
  const redis = config.REDIS_URL ? connectRedis(config.REDIS_URL, config.REDIS_TIMEOUT_MS, logger) : undefined;
  const limiters = redis ? redisLimiters(redis) : memoryLimiters;
  const metrics = config.METRICS_PORT ? createMetrics() : undefined;
  if (metrics) watchDependencies(metrics.registry, connection.db, redis);
  const app = buildApp({
    db: connection.db,
    logger,
    credentialCache,
    loginThrottle: new LoginThrottle(config.AUTH_FAILURES_PER_MINUTE, config.AUTH_HASH_CONCURRENCY, 256, limiters, config.AUTH_FAILURES_PER_NAME_PER_MINUTE),
    tokens,
    passwords: config.AUTH_MODES.basic,
    rateLimit: config.RATE_LIMIT && { setting: config.RATE_LIMIT, limiters },
    redis,
    publicUrl: config.PUBLIC_URL,
    trustProxy: config.TRUST_PROXY,
    bodyLimit: config.BODY_LIMIT,
    metrics,
  });
  const close = async () => {
    await changes.stop();
    await redis?.close();
    await connection.close();
  };
  return { app, metrics, close };
}

/** Node's defaults hold a slow client for minutes; the caps keep descriptors for the database pool. */
function createHttpServer(config: Config, app: RequestListener): Server {
  const headersTimeout = config.HEADERS_TIMEOUT_SECONDS * 1000;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: config.REQUEST_TIMEOUT_SECONDS * 1000,
      connectionsCheckingInterval: Math.min(1000, headersTimeout / 4),
      keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    },
    app,
  );
  limitConnections(server, {
    max: config.MAX_CONNECTIONS,
    perAddress: config.MAX_CONNECTIONS_PER_ADDRESS,
    idleTimeoutMs: config.SOCKET_IDLE_TIMEOUT_SECONDS * 1000,
    trustProxy: config.TRUST_PROXY,
  });
  answerClientErrors(server);
  return server;
}

async function listen(server: Server, config: Config, logger: Logger): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const host = typeof address === 'object' && address ? address.address : config.HOST;
  logger.info(
    {
      authModes: config.AUTH_MODES,
      rateLimit: config.RATE_LIMIT?.text ?? 'off',
      limitStore: config.REDIS_URL ? 'redis' : 'memory',
      timeouts: { headers: config.HEADERS_TIMEOUT_SECONDS, request: config.REQUEST_TIMEOUT_SECONDS, keepAlive: config.KEEP_ALIVE_TIMEOUT_SECONDS },
      maxConnections: config.MAX_CONNECTIONS,
    },
    'authentication and rate limits',
  );
  logger.info({ url: publicUrl(config, port), host, port }, 'listening');
  return port;
}

const publicUrl = (config: Config, port: number) => config.PUBLIC_URL ?? `http://localhost:${port}`;

function announce(config: Config, port: number, tokens: Tokens | undefined): void {
  const url = publicUrl(config, port);
  const credentials = `${config.ADMIN_USERNAME}:${config.ADMIN_PASSWORD === demoPassword ? demoPassword : 'PASSWORD'}`;
  process.stderr.write(
    `\nstarter API at ${url}${apiPrefix}/pxcodes/\n` +
      (config.AUTH_MODES.basic
        ? `  curl -u ${credentials} ${url}${apiPrefix}/pxcodes/\n  http --auth ${credentials} GET ${url}${apiPrefix}/pxcodes/\n`
        : '') +
      (tokens ? `  http --auth ${credentials} GET ${url}/auth/request-token   (then: http --auth TOKEN: GET ${url}${apiPrefix}/pxcodes/)\n` : '') +
      '\n',
  );
}

function stopOnSignals(server: Server, config: Config, logger: Logger, closeWired: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing in-flight requests');
    // Past the deadline, connections still open are cut so the process always ends.
    const deadline = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
    deadline.unref();
    // Connections that finish their last request from now on are closed, not kept alive.
    server.keepAliveTimeout = 1;
    server.close(async () => {
      clearTimeout(deadline);
      await closeWired();
      logger.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  serve().catch((error: unknown) => {
    process.stderr.write(`starter: cannot start: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
