import type { Knex } from 'knex';

// sort=procedure pages by keyset (procedure, id); -procedure scans the same index backwards.
// Byte order (the C collation, as pxcode): the same order on every PostgreSQL whatever its locale,
// and an index that imports keep up cheaply (a locale's rules cost every insert; docs/performance.md).
// Changing only the collation rewrites no rows, but the table is locked (reads too) until the index
// is built; it gives up rather than queue every request behind it. ALTER drops the column's statistics.
export async function up(knex: Knex): Promise<void> {
  await knex.raw("SET LOCAL lock_timeout = '10s'");
  await knex.raw('ALTER TABLE starter_pxcodes ALTER COLUMN procedure TYPE text COLLATE "C"');
  await knex.raw('CREATE INDEX starter_pxcodes_procedure_id ON starter_pxcodes (procedure, id)');
  await knex.raw('ANALYZE starter_pxcodes (procedure)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("SET LOCAL lock_timeout = '10s'");
  await knex.raw('DROP INDEX starter_pxcodes_procedure_id');
  await knex.raw('ALTER TABLE starter_pxcodes ALTER COLUMN procedure TYPE text COLLATE "default"');
  await knex.raw('ANALYZE starter_pxcodes (procedure)');
}
