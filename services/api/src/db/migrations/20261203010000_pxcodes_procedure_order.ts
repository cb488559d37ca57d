import type { Knex } from 'knex';

// sort=procedure pages by keyset (procedure, id); -procedure scans the same index backwards.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX starter_pxcodes_procedure_id ON starter_pxcodes (procedure, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX starter_pxcodes_procedure_id');
}
