import { Gauge, type Registry } from 'prom-client';
import type { Database } from '../db/database';
import type { RedisConnection } from '../limits/redis';
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
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<number>((resolve) => (timer = setTimeout(resolve, timeoutMs, Number.NaN)));
      const total = await Promise.race([readTotal().catch(() => Number.NaN), late]);
      clearTimeout(timer);
      this.set(total);
    },
  });
}

/** Every gauge read on a scrape: the pool, the collection's size and, with REDIS_URL, Redis. */
export function watchDependencies(registry: Registry, db: Database, redis: RedisConnection | undefined): void {
  watchPool(registry, db);
  watchRows(registry, async () => (await readState(db)).total);
  if (redis) watchRedis(registry, redis);
}
