import type { Knex } from 'knex';

// A code is an identifier, compared byte by byte: the "C" collation says so, and spares every
// lookup and every insert into the unique index the locale's rules (docs/performance.md). Equality,
// and so uniqueness, is the same under any deterministic collation; ORDER BY pxcode is byte order.
// Rebuilds the unique index (the table is locked meanwhile: under a second for 500k rows). It
// gives up rather than wait long behind a running import, as every request would wait behind it;
// start again once it is done. The rebuilt column's statistics are gathered again at once.
export async function up(knex: Knex): Promise<void> {
  await knex.raw("SET LOCAL lock_timeout = '10s'");
  await knex.raw('ALTER TABLE starter_pxcodes ALTER COLUMN pxcode TYPE varchar(10) COLLATE "C"');
  await knex.raw('ANALYZE starter_pxcodes (pxcode)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE starter_pxcodes ALTER COLUMN pxcode TYPE varchar(10) COLLATE "default"');
}
