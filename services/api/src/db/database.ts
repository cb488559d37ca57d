import knex, { type Knex } from 'knex';
import type { Logger } from '../logger';
import { migrationSource } from './migrations';

export type Database = Knex;

// match=fuzzy's operator (%>) reads its threshold from the session: 0.3 lets most swapped letters
// in short words through (cardiac as cadriac is 0.33 alike; the default is 0.6). Set on each new
// connection, so options given in DATABASE_URL are kept.
type Connection = { query(sql: string, done: (error: Error | null) => void): void };
const sessionSettings = (connection: Connection, done: (error: Error | null, connection: Connection) => void) =>
  connection.query('SET pg_trgm.word_similarity_threshold = 0.3', (error) => done(error, connection));

export function createDatabase(url: string, poolMax = 10, logger?: Logger): Database {
  return knex({
    client: 'pg',
    connection: url,
    pool: { min: 0, max: poolMax, afterCreate: sessionSettings },
    acquireConnectionTimeout: 10_000,
    // Knex prints to the console by default; its messages belong in the JSON log (or nowhere).
    log: {
      warn: (message: unknown) => logger?.warn({ knex: message }, 'knex'),
      error: (message: unknown) => logger?.error({ knex: message }, 'knex'),
      deprecate: (message: unknown) => logger?.warn({ knex: message }, 'knex deprecation'),
      debug: (message: unknown) => logger?.debug({ knex: message }, 'knex'),
    },
  });
}

/** Polls until the database answers, so start order never depends on a sleep. */
export async function waitForDatabase(db: Database, timeoutSeconds: number, logger: Logger): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      await db.raw('select 1');
      return;
    } catch (error) {
      if (Date.now() >= deadline) {
        throw new Error(
          `the database did not answer within ${timeoutSeconds}s (${(error as Error).message}); ` +
            'check DATABASE_URL and that PostgreSQL is running',
        );
      }
      if (attempt === 1 || attempt % 10 === 0) {
        logger.info({ attempt, reason: (error as Error).message }, 'waiting for the database');
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

// Any fixed number: it only has to be the same in every process that migrates.
const migrationLockId = 0x316a7e;

/**
 * Applies pending migrations; returns their names. Processes that start together (replicas) take
 * turns on an advisory lock: knex's lock table guards the migrations, not its own creation in a
 * new database, where a second process fails ("relation knex_migrations already exists").
 */
export async function migrate(db: Database): Promise<string[]> {
  const latest = async () => ((await db.migrate.latest({ migrationSource })) as [number, string[]])[1];
  // The lock holds a connection while knex takes others: a pool of one runs unguarded.
  if (db.client.pool.max < 2) return latest();
  const connection: unknown = await db.client.acquireConnection();
  try {
    await db.raw('select pg_advisory_lock(?)', [migrationLockId]).connection(connection);
    return await latest();
  } finally {
    await db.raw('select pg_advisory_unlock(?)', [migrationLockId]).connection(connection).catch(() => undefined);
    await db.client.releaseConnection(connection);
  }
}

/**
 * Drops every table the migrations made and makes them again: all data is gone. Dropping a table
 * fires no trigger, so every API process is told here that all its cached credentials are void.
 */
export async function recreateSchema(db: Database): Promise<void> {
  const notify = () => db.raw(`select pg_notify('starter_users_changed', '*')`);
  try {
    await db.migrate.rollback({ migrationSource }, true);
    await notify(); // the data is gone from here on, even if making the tables again fails
    await db.migrate.latest({ migrationSource });
  } finally {
    await notify();
  }
}
