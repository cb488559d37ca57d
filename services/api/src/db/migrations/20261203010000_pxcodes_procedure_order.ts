import type { Knex } from 'knex';

// sort=procedure pages by keyset (procedure, id); -procedure scans the same index backwards.
// CREATE INDEX blocks writes while it runs; it gives up rather than wait long behind a running
// import, as every write would queue behind it (as the code collation migration does).
export async function up(knex: Knex): Promise<void> {
  await knex.raw("SET LOCAL lock_timeout = '10s'");
  await knex.raw('CREATE INDEX starter_pxcodes_procedure_id ON starter_pxcodes (procedure, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX starter_pxcodes_procedure_id');
}
