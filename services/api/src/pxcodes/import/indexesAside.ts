import type { Knex } from 'knex';
import { isEmpty } from '../repository';

// Indexes no constraint needs, as statements that make them again; pg_get_indexdef leaves out a
// tablespace, a comment and CLUSTER's mark, so an index given one by hand stays as it is.
const secondaryIndexes = `SELECT format('DROP INDEX %I.%I', n.nspname, c.relname) AS drop, pg_get_indexdef(i.indexrelid) AS create
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE i.indrelid = 'starter_pxcodes'::regclass AND NOT i.indisprimary AND NOT i.indisunique
    AND NOT EXISTS (SELECT FROM pg_constraint WHERE conindid = i.indexrelid)
    AND c.reltablespace = 0 AND NOT i.indisclustered AND obj_description(c.oid, 'pg_class') IS NULL
  ORDER BY c.relname`;

/**
 * import --indexes-after: into an empty table the secondary indexes (the trigram index above all) are
 * built once after the rows, which costs less than entering row after row (docs/performance.md).
 * Dropping them takes the table until the import commits (readers wait), so only when asked, only an empty table,
 * only when the lock comes within a second, and only if this role may; else they are kept row by row.
 * Returns the statements that make them again; a rolled back import brings them back by itself.
 */
export async function setIndexesAside(trx: Knex.Transaction): Promise<string[]> {
  if (!(await isEmpty(trx))) return [];
  await trx.raw('SAVEPOINT starter_indexes_aside');
  try {
    // The caller's lock_timeout comes back after (DEFAULT would drop a SET LOCAL of its own).
    const previous = (await trx.raw("SELECT current_setting('lock_timeout') AS value")).rows[0].value as string;
    await trx.raw("SET LOCAL lock_timeout = '1s'");
    await trx.raw('LOCK TABLE starter_pxcodes IN ACCESS EXCLUSIVE MODE');
    await trx.raw("SELECT set_config('lock_timeout', ?, true)", [previous]);
    // Rows may have come between the first look and the lock.
    if (!(await isEmpty(trx))) throw new Error('no longer empty');
    const indexes = (await trx.raw(secondaryIndexes)).rows as { drop: string; create: string }[];
    for (const { drop } of indexes) await trx.raw(drop); // a role that does not own them may not
    return indexes.map((index) => index.create);
  } catch {
    await trx.raw('ROLLBACK TO SAVEPOINT starter_indexes_aside'); // and its lock
    return [];
  }
}

/** Makes the indexes set aside again and gives the planner the new rows' statistics. */
export async function restoreIndexes(trx: Knex.Transaction, creates: string[]): Promise<void> {
  if (creates.length === 0) return;
  for (const create of creates) await trx.raw(create);
  await trx.raw('ANALYZE starter_pxcodes');
}
