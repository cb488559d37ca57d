import { Counter, Gauge, type Registry } from 'prom-client';
import type { Database } from '../db/database';
import type { RedisConnection } from '../limits/redis';
import { readImportsSince, type ImportsSince } from '../pxcodes/import/importLog';
import { readState } from '../pxcodes/repository';

/** What a scrape reads of knex's pool (tarn's counts). */
interface PoolCounts {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  max: number;
}

/** The database pool's connections, read on each scrape. */
export function watchPool(registry: Registry, db: Database): void {
  const pool = () => (db.client as { pool?: PoolCounts }).pool;
  const gauge = (name: string, help: string, read: (pool: PoolCounts) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const current = pool();
        // No pool yet (before the first query) or any more (destroyed): nothing is in use.
        this.set(current ? read(current) : 0);
      },
    });
  gauge('starter_db_pool_connections_in_use', 'Database connections lent to queries now', (p) => p.numUsed());
  gauge('starter_db_pool_connections_idle', 'Open database connections waiting in the pool', (p) => p.numFree());
  gauge('starter_db_pool_acquires_waiting', 'Queries waiting for a database connection', (p) => p.numPendingAcquires());
  gauge('starter_db_pool_connections_max', 'The pool size (DB_POOL_MAX)', (p) => p.max);
}

/** Whether rate limits are counted in Redis (1) or, while it is down, in this process's memory (0). */
export function watchRedis(registry: Registry, redis: RedisConnection): void {
  new Gauge({
    name: 'starter_redis_up',
    help: 'Redis connected and answering (1), or not (0: limits are counted per process); absent without REDIS_URL',
    registers: [registry],
    collect() {
      this.set(redis.isUp() ? 1 : 0);
    },
  });
}

/**
 * Imports run in the CLI, not in this process: what the API can tell of them is the collection's
 * exact size (the counter row every insert, delete and COPY keeps), read on each scrape. NaN when
 * the database does not answer within `timeoutMs`, so a scrape never waits on a dead database.
 */
export function watchRows(registry: Registry, readTotal: () => Promise<number>, timeoutMs = 1000): void {
  new Gauge({
    name: 'starter_pxcodes_rows',
    help: 'Procedure codes in the collection (imports by the CLI show here); NaN when the database did not answer',
    registers: [registry],
    async collect() {
      this.set(await withinTime(readTotal(), timeoutMs, Number.NaN));
    },
  });
}

/** What `read` answers within `timeoutMs`, else (or when it fails) `otherwise`: a scrape never waits on a dead database. */
async function withinTime<T>(read: Promise<T>, timeoutMs: number, otherwise: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(resolve, timeoutMs, otherwise)));
  const value = await Promise.race([read.catch(() => otherwise), late]);
  clearTimeout(timer);
  return value;
}

/**
 * Imports run in the CLI, not here: each committed one leaves a row in starter_imports, and each
 * scrape counts the rows recorded since the last it saw (ids only grow; tables made again by
 * resetdb, a new epoch, are read from their start). Database-wide: every replica reports the same (docs/metrics.md).
 */
export function watchImports(registry: Registry, readSince: (afterId: number) => Promise<ImportsSince>, timeoutMs = 1000): void {
  const seen = { epoch: '', lastId: 0 };
  let reading: Promise<void> | undefined;
  // Both counters' collects wait on one read, which counts into both before either is written out.
  const refresh = () =>
    (reading ??= (async () => {
      let read = await withinTime<ImportsSince | undefined>(readSince(seen.lastId), timeoutMs, undefined);
      if (read && read.epoch !== seen.epoch && seen.epoch !== '') read = await withinTime(readSince(0), timeoutMs, undefined);
      if (!read) return; // unknown this time: counted on the next scrape
      for (const { format, imports: n, rowsWritten } of read.byFormat) {
        imports.inc({ format }, n);
        rows.inc({ format }, rowsWritten);
      }
      Object.assign(seen, { epoch: read.epoch, lastId: read.lastId });
    })().finally(() => (reading = undefined)));
  const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['format'], registers: [registry], collect: refresh });
  const imports = counter('starter_imports_total', 'Imports committed (CLI import, scripts/importSql.sh), by format (csv, sql)');
  const rows = counter('starter_import_rows_total', 'Rows written by committed imports, by format (csv, sql)');
}

/** Everything read on a scrape: the pool, the collection's size, the imports and, with REDIS_URL, Redis. */
export function watchDependencies(registry: Registry, db: Database, redis: RedisConnection | undefined): void {
  watchPool(registry, db);
  watchRows(registry, async () => (await readState(db)).total);
  watchImports(registry, (afterId) => readImportsSince(db, afterId));
  if (redis) watchRedis(registry, redis);
}
